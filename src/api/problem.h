// Errors as RFC 9457 problem details (application/problem+json).
//
// Every error response of the server is built here so they all share one shape:
// {type, title, status, detail, instance} plus, for validation failures, `errors`:
// [{pointer, detail}]. Messages are written for API clients and never carry internals
// (no SQL, paths of the server, exception text).
#pragma once

#include <string>

#include "api/http.h"
#include "core/status.h"
#include "core/validation.h"

namespace argus::api {

// `type` is a short slug ("not-found"); it becomes the URI "urn:argus:problem:<slug>".
// `instance` is the request path.
Response problem(int status, std::string_view type, std::string detail, const Request& req);

// 422 with the `errors` list.
Response validation_problem(const FieldErrors& errors, const Request& req);

// Maps a Status from a lower layer onto the matching problem: NotFound 404, AlreadyExists
// 409, FailedPrecondition 412 (the precondition was a version), InvalidArgument 400,
// ResourceExhausted/Unavailable 503 with Retry-After, anything else 500 with a generic
// detail (the real message is logged, not returned).
Response status_problem(const Status& status, const Request& req);

}  // namespace argus::api
