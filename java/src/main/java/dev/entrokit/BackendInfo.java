package dev.entrokit;

import java.util.List;

/**
 * What the library knows about one backend in this JVM.
 *
 * @param name        {@code scalar}, {@code simd} or {@code cuda}
 * @param available   whether it can run here
 * @param reasons     why not, when it cannot (empty otherwise)
 * @param description its configuration (e.g. the SIMD species) or the reasons, in one line
 */
public record BackendInfo(String name, boolean available, List<String> reasons, String description) {
}
