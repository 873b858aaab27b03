# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DSYMBOL=<name> -DNAMESPACE=<ns> -P EmbedText.cmake
#
# Writes a C++ source defining `extern const char <SYMBOL>[]` in <NAMESPACE> with the bytes
# of INPUT as one raw string literal. Fails if INPUT holds the literal's closing delimiter.
# (GCC and Clang take literals far beyond the 64 KiB ISO minimum; the caller compiles the
# output with -Wno-overlength-strings.)
file(READ "${INPUT}" content)
set(delimiter "argus_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )${delimiter}\"")
endif()
set(text "// Generated from ${INPUT} by cmake/EmbedText.cmake; do not edit.\n")
string(APPEND text "namespace ${NAMESPACE} {\n")
string(APPEND text "extern const char ${SYMBOL}[];\n")
string(APPEND text "const char ${SYMBOL}[] = R\"${delimiter}(${content})${delimiter}\";\n")
string(APPEND text "}  // namespace ${NAMESPACE}\n")
# Only touch the output when it changes, so an unrelated rebuild does not recompile it.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
