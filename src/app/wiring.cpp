#include "app/wiring.h"

namespace argus::app {

vision::DetectorConfig detector_config(const Config& c) {
  const DetectorSettings& d = c.detector;
  vision::DetectorConfig v;
  v.kind = d.kind;
  v.min_score = static_cast<float>(d.min_score);
  v.hog_model = d.hog_model;
  v.hog_upscale = d.hog_upscale;
  v.model_path = d.model;
  v.labels_path = d.labels;
  v.input_width = d.input_width;
  v.input_height = d.input_height;
  v.nms_threshold = static_cast<float>(d.nms);
  v.url = d.url;
  v.timeout_ms = d.timeout_ms;
  v.retries = d.retries;
  return v;
}

pipeline::ProcessorOptions processor_options(const Config& c) {
  pipeline::ProcessorOptions o;
  o.motion_gate = c.pipeline.motion_gate;
  o.motion.width = c.pipeline.motion_width;
  o.tracker.max_missed_ms = c.pipeline.track_timeout_ms;
  o.snapshot_quality = c.pipeline.snapshot_quality;
  o.snapshots = c.pipeline.snapshots;
  return o;
}

pipeline::PipelineOptions pipeline_options(const Config& c, const std::string& media_dir) {
  pipeline::PipelineOptions o;
  o.pool.detector = detector_config(c);
  o.pool.workers = c.detector.workers;
  o.pool.queue_capacity = c.detector.queue;
  o.pool.overflow = c.detector.overflow_reject ? OverflowPolicy::kReject : OverflowPolicy::kDropOldest;
  o.processor = processor_options(c);
  o.media_dir = media_dir;
  o.count_flush_ms = c.pipeline.count_flush_ms;
  return o;
}

ingest::IngestOptions ingest_options(const Config& c, metrics::Registry* metrics) {
  ingest::IngestOptions o;
  o.backoff_initial_ms = c.ingest.backoff_initial_ms;
  o.backoff_max_ms = c.ingest.backoff_max_ms;
  o.read_timeout_ms = c.ingest.read_timeout_ms;
  o.offline_after_ms = c.ingest.offline_after_ms;
  o.data_dir = c.data_dir;
  o.metrics = metrics;
  return o;
}

}  // namespace argus::app
