# Settings shared by every CUDA target of entrokit.
#
# Architectures: sm_80 and sm_90 machine code plus compute_90 PTX (the driver JIT-compiles it for
# newer GPUs). ENTROKIT_CUDA_ARCHITECTURES overrides it, e.g. "90-real" for a quick build on an H100.
if(NOT DEFINED ENTROKIT_CUDA_ARCHITECTURES)
  set(ENTROKIT_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
endif()
set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
set(CMAKE_CXX_STANDARD 17)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

function(entrokit_cuda_target target)
  set_target_properties(${target} PROPERTIES
    CUDA_ARCHITECTURES "${ENTROKIT_CUDA_ARCHITECTURES}"
    CUDA_RUNTIME_LIBRARY Static
    CUDA_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${target} PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/include")
  # Host code warning-free: the host compiler's warnings are errors.
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Werror --Werror all-warnings>
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Werror>)
  # Only the C ABI is exported; the static runtime stays private.
  target_link_options(${target} PRIVATE "LINKER:--exclude-libs,ALL" "LINKER:--no-undefined")
endfunction()
