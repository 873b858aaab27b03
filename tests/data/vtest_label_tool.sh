#!/bin/bash
# Helper used to hand-label tests/data/vtest_people.json.
# Usage:
#   vtest_label_tool.sh extract OUTDIR            -> OUTDIR/frN.png for N=0,25,...,775
#   vtest_label_tool.sh grid IN.png OUT.png [x y w h scale grid]
#        grid overlay every `grid` px (default 32) in ORIGINAL pixel coordinates, cropped to
#        x,y,w,h and upscaled by integer `scale`; tick labels are written in a black margin
#        (34 px left, 14 px top), so for an output pixel (px,py):
#        X = x + (px-34)/scale,  Y = y + (py-14)/scale.
#   vtest_label_tool.sh boxes IN.png OUT.png "x1,y1,x2,y2 x1,y1,x2,y2 ..." ["ignore boxes"] [scale]
#        draws boxes (red) and ignore boxes (blue) for verification.
set -e
V=/usr/share/doc/opencv-doc/examples/data/vtest.avi
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
cmd=$1; shift
case "$cmd" in
extract)
  out=$1; mkdir -p "$out"
  # select=eq(n\,N) / not(mod(n\,25)) use 0-based decoded frame index n
  for N in $(seq 0 25 775); do
    ffmpeg -v error -y -i $V -vf "select=eq(n\,$N)" -vsync 0 -frames:v 1 "$out/fr$N.png"
  done ;;
grid)
  in=$1; out=$2; cx=${3:-0}; cy=${4:-0}; cw=${5:-768}; ch=${6:-576}; s=${7:-1}; g=${8:-32}
  # grid lines drawn on the full frame every $g px (so they sit on original coordinates),
  # then cropped/scaled; tick labels (original pixel coords) are written in a margin
  # (left 34 px, top 14 px) so they never cover the image.
  f="drawgrid=w=$g:h=$g:t=1:c=yellow@0.35,crop=$cw:$ch:$cx:$cy,scale=iw*$s:ih*$s:flags=neighbor,pad=iw+34:ih+14:34:14:black"
  for ((x=(cx+g-1)/g*g; x<cx+cw; x+=g)); do
    [ $(( (x-cx)*s )) -lt 0 ] && continue
    f="$f,drawtext=fontfile=$FONT:text=$x:x=34+$(( (x-cx)*s ))-8:y=2:fontsize=10:fontcolor=white"
  done
  for ((y=(cy+g-1)/g*g; y<cy+ch; y+=g)); do
    f="$f,drawtext=fontfile=$FONT:text=$y:x=2:y=14+$(( (y-cy)*s ))-5:fontsize=10:fontcolor=white"
  done
  ffmpeg -v error -y -i "$in" -vf "$f" "$out" ;;
boxes)
  in=$1; out=$2; bx=$3; ig=${4:-}; s=${5:-1}
  f="null"
  for b in $bx; do IFS=, read x1 y1 x2 y2 <<< "$b"
    f="$f,drawbox=x=$x1:y=$y1:w=$((x2-x1)):h=$((y2-y1)):color=red:t=2"; done
  for b in $ig; do IFS=, read x1 y1 x2 y2 <<< "$b"
    f="$f,drawbox=x=$x1:y=$y1:w=$((x2-x1)):h=$((y2-y1)):color=blue:t=2"; done
  f="$f,scale=iw*$s:ih*$s"
  ffmpeg -v error -y -i "$in" -vf "$f" "$out" ;;
esac
