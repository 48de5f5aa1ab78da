/**
 * The {@code ./entrokit} command line: {@code info}, {@code eval}, {@code compare} and {@code demo}
 * over the {@code dev.entrokit} library.
 *
 * <p>The Vector API is optional here as in the library: {@code info} only asks it for the preferred
 * vector shape after checking that the module is in the boot layer.
 */
module dev.entrokit.cli {
    requires dev.entrokit;
    requires info.picocli;
    requires static jdk.incubator.vector;

    // picocli fills the annotated fields reflectively.
    opens dev.entrokit.cli to info.picocli;
}
