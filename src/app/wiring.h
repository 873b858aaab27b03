// Translation of the configuration into each component's options (shared by `serve`
// and `analyze`, so both run the same pipeline settings).
#pragma once

#include <string>

#include "core/config.h"
#include "ingest/ingest.h"
#include "pipeline/pipeline.h"
#include "vision/detector.h"

namespace argus::app {

vision::DetectorConfig detector_config(const Config& c);
pipeline::ProcessorOptions processor_options(const Config& c);
pipeline::PipelineOptions pipeline_options(const Config& c, const std::string& media_dir);
ingest::IngestOptions ingest_options(const Config& c, metrics::Registry* metrics);

}  // namespace argus::app
