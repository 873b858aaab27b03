// Remote detector: an HTTP detection service speaking the DeepStack / CodeProject.AI API.
//
// detect() JPEG-encodes the image and POSTs it as multipart/form-data (field `image`,
// plus `min_confidence` = DetectorConfig::min_score) to DetectorConfig::url, then reads
// {"success": true, "predictions": [{"label", "confidence", "x_min", "y_min", "x_max",
// "y_max"}, ...]} with pixel coordinates of the posted image, and returns normalized boxes.
//
// Answers:
//   - Not JSON, not an object, `success` not true, `predictions` not an array, or a
//     prediction without a string `label` and numeric `confidence` / coordinates: the whole
//     answer is rejected (Unavailable, with the service's `error` text when it sent one).
//   - A prediction that is well-formed but unusable is dropped: confidence outside 0..1 or
//     below min_score, an empty or inverted box, or coordinates outside the image by more
//     than a small tolerance (max(2 px, 1 % of the side)); coordinates within the
//     tolerance are clamped to the image.
// Errors:
//   - InvalidArgument: an empty image, or a 4xx answer (the request or the configured URL
//     is wrong; not retried).
//   - Unavailable: the service cannot be reached, timed out, answered 5xx or 3xx (redirects
//     are not followed) or sent a malformed answer, or the circuit breaker is open.
// Timing: timeout_ms bounds each attempt (connect at most min(timeout_ms, 3 s)). Network
// errors, timeouts and 5xx answers are retried `retries` times with exponential backoff
// starting at retry_backoff_ms, with jitter. After `breaker_failures` consecutive failed
// detect() calls the breaker opens: for breaker_open_ms detect() fails at once without a
// request; then one trial request (no retries) closes it on success or reopens it.
// Messages never contain the URL's user name or password.
// Like every Detector, an instance is used by one thread at a time.
#pragma once

#include <memory>

#include "core/status.h"
#include "vision/detector.h"

namespace argus::vision {

// InvalidArgument unless config.url is an http(s) URL with a host, timeout_ms > 0,
// retries >= 0, retry_backoff_ms >= 0, breaker_failures >= 1 and breaker_open_ms >= 0.
Result<std::unique_ptr<Detector>> make_remote_detector(const DetectorConfig& config);

}  // namespace argus::vision
