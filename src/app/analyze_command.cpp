// `argus analyze VIDEO` and `argus eval --labels FILE`.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <opencv2/videoio.hpp>

#include "app/analyze.h"
#include "app/app.h"
#include "core/log.h"
#include "vision/frame.h"

namespace argus::app {
namespace {

struct AnalyzeFlags {
  std::string video;
  std::string config_file;
  std::string camera_settings;
  std::string output;
  std::string labels;
  std::string trace_crops;
  long max_frames = 0;
  int workers = 2;
  bool json = false;
  bool no_progress = false;
};

// Loads the settings shared by analyze and eval. Returns an exit code on failure.
int prepare(const AnalyzeFlags& f, AnalyzeOptions& out) {
  ConfigSources sources;
  sources.file = f.config_file;
  sources.env = argus_environment();
  auto config = load_config(sources);
  if (!config.ok()) {
    std::cerr << "argus: " << config.status().message() << "\n";
    return 2;
  }
  out.config = std::move(config).value();
  log::init(log::Level::kWarn, log::Format::kText);

  nlohmann::json doc = {{"id", "analyze"}, {"source", {{"kind", "push"}}}};
  if (!f.camera_settings.empty()) {
    std::string text = f.camera_settings;
    if (text.front() == '@') {
      std::ifstream in(text.substr(1));
      if (!in) {
        std::cerr << "argus: cannot read camera settings file " << text.substr(1) << "\n";
        return 2;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    nlohmann::json settings = nlohmann::json::parse(text, nullptr, false);
    if (settings.is_discarded() || !settings.is_object()) {
      std::cerr << "argus: --camera-settings must be a JSON object (or @file with one), e.g. "
                   "'{\"detection\": {\"fps\": 10}, \"lines\": [...]}'\n";
      return 2;
    }
    doc.merge_patch(settings);
    doc["id"] = "analyze";
    doc["source"] = {{"kind", "push"}};
  } else {
    // Every decoded frame goes to the detector unless the settings say otherwise.
    doc["detection"] = {{"fps", 60}};
  }
  FieldErrors errors;
  camera_from_json(doc, out.camera, errors);
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << "argus: camera settings " << e.pointer << ": " << e.detail << "\n";
    return 2;
  }
  out.video = f.video;
  out.max_frames = f.max_frames;
  out.workers = f.workers;
  return 0;
}

void draw_progress(long done, long total, double fps) {
  int width = 30;
  double frac = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 0;
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<std::size_t>(width), ' ');
  if (total > 0) {
    std::fprintf(stderr, "\r[%s] %3d%% %ld/%ld frames %.1f fps ", bar.c_str(), static_cast<int>(frac * 100), done,
                 total, fps);
  } else {
    std::fprintf(stderr, "\r%ld frames %.1f fps ", done, fps);
  }
  std::fflush(stderr);
}

int run_analyze(const AnalyzeFlags& f) {
  AnalyzeOptions options;
  if (int rc = prepare(f, options); rc != 0) return rc;
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!f.output.empty() && f.output != "-") {
    file.open(f.output, std::ios::trunc);
    if (!file) {
      std::cerr << "argus: cannot write " << f.output << "\n";
      return 1;
    }
    out = &file;
  }
  bool progress = !f.no_progress && ::isatty(STDERR_FILENO) != 0;
  AnalyzeCallbacks cb;
  int width = 0, height = 0;
  cb.on_frame = [&](const pipeline::FrameResult& r) {
    nlohmann::json objects = nlohmann::json::array();
    for (const auto& o : r.objects) {
      auto px = [](double v, int n) { return std::round(v * n * 10) / 10; };
      objects.push_back(
          {{"id", o.track_id},
           {"label", o.label},
           {"score", std::round(o.score * 1000) / 1000},
           {"box", {px(o.box.x1, width), px(o.box.y1, height), px(o.box.x2, width), px(o.box.y2, height)}}});
    }
    *out << nlohmann::json{{"frame", r.seq}, {"time", std::round(r.media_seconds * 1000) / 1000}, {"objects", objects}}
                .dump()
         << "\n";
  };
  std::ofstream trace;
  if (!f.trace_crops.empty()) {
    trace.open(f.trace_crops, std::ios::trunc);
    if (!trace) {
      std::cerr << "argus: cannot write " << f.trace_crops << "\n";
      return 1;
    }
    // One line per detector run: the frame number, then x y w h of each crop.
    cb.on_detect = [&](long seq, const std::vector<cv::Rect>& crops) {
      trace << seq;
      for (const auto& c : crops) trace << ' ' << c.x << ' ' << c.y << ' ' << c.width << ' ' << c.height;
      trace << '\n';
    };
  }
  // Frame size is known after the first decode; the processor reports normalized boxes.
  cb.on_progress = [&](long done, long total, double fps) {
    if (progress) draw_progress(done, total, fps);
  };
  {
    cv::VideoCapture probe(f.video, cv::CAP_FFMPEG);
    width = static_cast<int>(probe.get(cv::CAP_PROP_FRAME_WIDTH));
    height = static_cast<int>(probe.get(cv::CAP_PROP_FRAME_HEIGHT));
  }
  auto summary = analyze_video(options, cb);
  if (progress) std::fprintf(stderr, "\n");
  if (!summary.ok()) {
    std::cerr << "argus: " << summary.status().message() << "\n";
    return 1;
  }
  *out << nlohmann::json{{"summary", analyze_summary_json(*summary)}}.dump() << "\n";
  out->flush();
  return 0;
}

struct Truth {
  long frame;
  std::vector<vision::Box> boxes;  // pixels stored as box coordinates
};

int run_eval(const AnalyzeFlags& f) {
  std::ifstream in(f.labels);
  if (!in) {
    std::cerr << "argus: cannot read labels file " << f.labels << "\n";
    return 2;
  }
  nlohmann::json labels = nlohmann::json::parse(in, nullptr, false);
  if (labels.is_discarded() || !labels.is_object() || !labels.contains("frames") || !labels["frames"].is_array()) {
    std::cerr << "argus: " << f.labels << " is not a labels file ({\"video\", \"frames\": [{\"frame\", \"boxes\"}]})\n";
    return 2;
  }
  AnalyzeFlags flags = f;
  if (flags.video.empty()) {
    std::string v = labels.value("video", "");
    if (!v.empty() && v.front() != '/') {
      v = (std::filesystem::path(f.labels).parent_path() / v).string();
    }
    flags.video = v;
  }
  auto read_boxes = [](const nlohmann::json& list) {
    std::vector<vision::Box> boxes;
    if (!list.is_array()) return boxes;
    for (const auto& b : list) {
      if (b.is_array() && b.size() == 4 && b[0].is_number() && b[1].is_number() && b[2].is_number() &&
          b[3].is_number()) {
        boxes.push_back({b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>()});
      }
    }
    return boxes;
  };
  std::map<long, std::vector<vision::Box>> truth;
  std::map<long, std::vector<vision::Box>> ignore;  // ambiguous people: neither required nor penalized
  for (const auto& fr : labels["frames"]) {
    if (!fr.is_object()) continue;
    long n = fr.value("frame", -1L);
    if (n < 0) continue;
    truth[n] = read_boxes(fr.value("boxes", nlohmann::json::array()));
    ignore[n] = read_boxes(fr.value("ignore", nlohmann::json::array()));
  }
  if (truth.empty()) {
    std::cerr << "argus: " << f.labels << " has no labeled frames\n";
    return 2;
  }
  if (flags.max_frames == 0) flags.max_frames = truth.rbegin()->first + 1;
  AnalyzeOptions options;
  if (int rc = prepare(flags, options); rc != 0) return rc;

  long tp = 0, fp = 0, fn = 0;
  double count_error = 0;
  long evaluated = 0;
  int width = 0, height = 0;
  {
    cv::VideoCapture probe(flags.video, cv::CAP_FFMPEG);
    width = static_cast<int>(probe.get(cv::CAP_PROP_FRAME_WIDTH));
    height = static_cast<int>(probe.get(cv::CAP_PROP_FRAME_HEIGHT));
  }
  AnalyzeCallbacks cb;
  cb.on_frame = [&](const pipeline::FrameResult& r) {
    auto it = truth.find(static_cast<long>(r.seq));
    if (it == truth.end()) return;
    std::vector<vision::Box> pred;
    for (const auto& o : r.objects) {
      if (o.label != "person") continue;
      pred.push_back({o.box.x1 * width, o.box.y1 * height, o.box.x2 * width, o.box.y2 * height});
    }
    const auto& gt = it->second;
    // Predictions that match no labeled person but cover an ignored one are dropped.
    const auto& ign = ignore[it->first];
    if (!ign.empty()) {
      std::vector<vision::Box> kept;
      for (const auto& p : pred) {
        bool on_ignored = false;
        for (const auto& g : ign) on_ignored = on_ignored || vision::iou(p, g) >= 0.5;
        bool on_labeled = false;
        for (const auto& g : gt) on_labeled = on_labeled || vision::iou(p, g) >= 0.5;
        if (!on_ignored || on_labeled) kept.push_back(p);
      }
      pred = std::move(kept);
    }
    std::vector<std::tuple<double, std::size_t, std::size_t>> pairs;
    for (std::size_t i = 0; i < pred.size(); ++i) {
      for (std::size_t j = 0; j < gt.size(); ++j) {
        double v = vision::iou(pred[i], gt[j]);
        if (v >= 0.5) pairs.emplace_back(v, i, j);
      }
    }
    std::sort(pairs.rbegin(), pairs.rend());
    std::set<std::size_t> used_p, used_g;
    for (const auto& [v, i, j] : pairs) {
      if (used_p.count(i) || used_g.count(j)) continue;
      used_p.insert(i);
      used_g.insert(j);
    }
    long matched = static_cast<long>(used_p.size());
    tp += matched;
    fp += static_cast<long>(pred.size()) - matched;
    fn += static_cast<long>(gt.size()) - matched;
    count_error += std::abs(static_cast<double>(pred.size()) - static_cast<double>(gt.size()));
    ++evaluated;
  };
  auto summary = analyze_video(options, cb);
  if (!summary.ok()) {
    std::cerr << "argus: " << summary.status().message() << "\n";
    return 1;
  }
  double precision = tp + fp > 0 ? static_cast<double>(tp) / (tp + fp) : 0;
  double recall = tp + fn > 0 ? static_cast<double>(tp) / (tp + fn) : 0;
  double mae = evaluated > 0 ? count_error / evaluated : 0;
  nlohmann::json result{{"labeled_frames", truth.size()},
                        {"evaluated_frames", evaluated},
                        {"true_positives", tp},
                        {"false_positives", fp},
                        {"false_negatives", fn},
                        {"precision", precision},
                        {"recall", recall},
                        {"count_mae", mae},
                        {"frames_per_second", summary->seconds > 0 ? summary->frames / summary->seconds : 0}};
  if (f.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::printf("labeled frames      %ld (evaluated %ld)\n", static_cast<long>(truth.size()), evaluated);
    std::printf("precision @IoU0.5   %.3f  (TP %ld, FP %ld)\n", precision, tp, fp);
    std::printf("recall    @IoU0.5   %.3f  (FN %ld)\n", recall, fn);
    std::printf("count error / frame %.3f people (mean absolute)\n", mae);
    std::printf("speed               %.1f frames/s\n", result["frames_per_second"].get<double>());
  }
  return 0;
}

void add_common(CLI::App* cmd, AnalyzeFlags& f) {
  cmd->add_option("-c,--config", f.config_file, "YAML configuration (detector and pipeline settings)");
  cmd->add_option("--camera-settings", f.camera_settings,
                  "Camera fields as JSON or @file: detection (fps, labels, min_score), zones, lines");
  cmd->add_option("--max-frames", f.max_frames, "Stop after this many frames");
  cmd->add_option("--workers", f.workers, "Detector threads (default 2)")->check(CLI::Range(1, 64));
}

}  // namespace

void add_analyze_commands(CLI::App& cli, int* exit_code) {
  auto flags = std::make_shared<AnalyzeFlags>();
  CLI::App* analyze = cli.add_subcommand("analyze", "Run the pipeline on a video file; JSON lines out");
  analyze->add_option("video", flags->video, "Video file")->required();
  analyze->add_option("-o,--output", flags->output, "Write JSON lines here instead of stdout");
  analyze->add_flag("--no-progress", flags->no_progress, "Never draw the progress bar");
  analyze->add_option("--trace-crops", flags->trace_crops,
                      "Write the detector's work per frame (frame, then x y w h per crop) to this file");
  add_common(analyze, *flags);
  analyze->callback([flags, exit_code] { *exit_code = run_analyze(*flags); });

  auto eflags = std::make_shared<AnalyzeFlags>();
  CLI::App* eval = cli.add_subcommand("eval", "Precision, recall and count error against a labeled set");
  eval->add_option("--labels", eflags->labels, "Labels JSON ({video, frames: [{frame, boxes}]})")->required();
  eval->add_option("--video", eflags->video, "Video file (default: the labels file's `video`)");
  eval->add_flag("--json", eflags->json, "Print the result as JSON");
  add_common(eval, *eflags);
  eval->callback([eflags, exit_code] { *exit_code = run_eval(*eflags); });
}

}  // namespace argus::app
