package dev.entrokit.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The machine's python3 + NumPy, when installed, as the authority on what a {@code .npy} file may be. */
final class NumPy {
    private static Boolean available;

    private NumPy() {
    }

    /** Whether {@code python3 -c 'import numpy'} works here. */
    static synchronized boolean available() {
        if (available == null) {
            available = python("import numpy") == 0;
        }
        return available;
    }

    /**
     * Which of {@code files} {@code np.load} loads (a warning, such as NumPy's notice on Python 2
     * headers, is not a failure), in one interpreter: importing NumPy costs about a second.
     */
    static boolean[] loads(List<Path> files) throws IOException {
        Path report = Files.createTempFile("numpy-loads", ".txt");
        try {
            String[] args = new String[files.size() + 1];
            args[0] = report.toString();
            for (int i = 0; i < files.size(); i++) {
                args[i + 1] = files.get(i).toString();
            }
            int code = python("""
                    import sys, numpy
                    with open(sys.argv[1], 'w') as out:
                        for f in sys.argv[2:]:
                            try:
                                numpy.load(f)
                                out.write('1\\n')
                            except Exception:
                                out.write('0\\n')
                    """, args);
            List<String> lines = Files.readAllLines(report);
            if (code != 0 || lines.size() != files.size()) {
                throw new IOException("python3 exited " + code + " after " + lines.size() + " of " + files.size() + " files");
            }
            boolean[] ok = new boolean[files.size()];
            for (int i = 0; i < ok.length; i++) {
                ok[i] = lines.get(i).equals("1");
            }
            return ok;
        } finally {
            Files.deleteIfExists(report);
        }
    }

    private static int python(String code, String... args) {
        String[] cmd = new String[3 + args.length];
        cmd[0] = "python3";
        cmd[1] = "-c";
        cmd[2] = code;
        System.arraycopy(args, 0, cmd, 3, args.length);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
