#!/usr/bin/env python3
"""Writes tiny ONNX models with fixed, known outputs for the vision detector tests.

Usage: make_test_model.py OUTPUT_DIR

Every model takes "images" [1, 3, 64, 64] and ignores its values: GlobalAveragePool ->
1x1 Conv with all-zero weights whose bias holds the wanted output -> Reshape. The output
is therefore exactly the bias, whatever the image (only standard operators that OpenCV
4.6's ONNX importer supports). With C = 3 labels (person, car, dog):

  yolov8_test.onnx    output0 [1, 4+C, N] (YOLOv8 layout, columns are candidates)
  yolov5_test.onnx    output0 [1, N, 5+C] (YOLOv5 layout, rows are candidates)
  bad_shape_test.onnx output0 [1, 5, 6]   (neither layout)

Box coordinates are cx, cy, w, h in input pixels. The expected detections are asserted in
tests/vision/detector_test.cpp; keep both in sync.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SIZE = 64

# YOLOv8 candidates: cx, cy, w, h, score(person), score(car), score(dog)
YOLOV8 = [
    [32, 32, 16, 16, 0.875, 0.125, 0.0],   # A: person 0.875
    [33, 32, 16, 16, 0.75, 0.0, 0.0],      # A shifted 1 px: person 0.75, IoU 0.88 -> suppressed
    [32, 32, 16, 16, 0.0, 0.625, 0.0],     # A as car 0.625: other label -> kept
    [8, 24, 8, 16, 0.0, 0.0, 0.5],         # B: dog 0.5
    [40, 40, 10, 10, 0.25, 0.125, 0.0],    # below min_score 0.3 -> dropped
    [60, 20, 16, 16, 0.0, 0.5625, 0.0],    # C: car 0.5625, crosses the right/top edge -> clamped
]

# YOLOv5 candidates: cx, cy, w, h, objectness, class scores (person, car, dog)
YOLOV5 = [
    [32, 32, 16, 16, 1.0, 0.875, 0.0, 0.0],   # A: person 1.0 x 0.875 = 0.875
    [33, 32, 16, 16, 0.75, 1.0, 0.0, 0.0],    # A shifted: person 0.75 -> suppressed by NMS
    [8, 24, 8, 16, 0.5, 0.0, 0.25, 0.75],     # B: dog 0.5 x 0.75 = 0.375
    [40, 40, 10, 10, 0.25, 1.0, 0.0, 0.0],    # objectness 0.25 < 0.3 -> dropped
    [20, 40, 10, 10, 0.9, 0.25, 0.0, 0.0],    # 0.9 x 0.25 = 0.225 -> dropped
]


def constant_model(values: np.ndarray) -> onnx.ModelProto:
    values = values.astype(np.float32)
    k = values.size
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(values.shape))
    weight = numpy_helper.from_array(np.zeros((k, 3, 1, 1), dtype=np.float32), "zero_weight")
    bias = numpy_helper.from_array(values.reshape(k), "values")
    shape = numpy_helper.from_array(np.array(values.shape, dtype=np.int64), "out_shape")
    nodes = [
        helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
        helper.make_node("Conv", ["pooled", "zero_weight", "values"], ["conv"], kernel_shape=[1, 1]),
        helper.make_node("Reshape", ["conv", "out_shape"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "argus_test_constant", [inp], [out], [weight, bias, shape])
    model = helper.make_model(graph, producer_name="argus-tests",
                              opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_test_model.py OUTPUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    v8 = np.array(YOLOV8, dtype=np.float32).T[np.newaxis]   # [1, 7, 6]
    v5 = np.array(YOLOV5, dtype=np.float32)[np.newaxis]     # [1, 5, 8]
    bad = np.arange(30, dtype=np.float32).reshape(1, 5, 6)  # [1, 5, 6]
    for name, values in (("yolov8_test.onnx", v8), ("yolov5_test.onnx", v5), ("bad_shape_test.onnx", bad)):
        onnx.save(constant_model(values), os.path.join(out_dir, name))


if __name__ == "__main__":
    main()
