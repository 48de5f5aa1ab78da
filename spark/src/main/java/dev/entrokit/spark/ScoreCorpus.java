package dev.entrokit.spark;

import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The command line of {@link ContaminationScoring}: embedded in this JVM ({@code local[*]}) unless a master
 * is configured (as {@code spark-submit --master ...} does), on the bundled sample by default.
 *
 * <pre>
 *   --reference PATH    Parquet reference corpus (column ids: array&lt;int&gt;)   [spark/sample/reference.parquet]
 *   --documents PATH    Parquet documents (doc_id, ids, logprobs[, means, variances][, ref_logprobs])
 *                                                                        [spark/sample/documents.parquet]
 *   --output PATH       where the scores are written as Parquet (overwritten)   [spark/target/scores.parquet]
 *   --vocab V           vocabulary size                                         [64, the sample's]
 *   --k K               Min-K% / Min-K%++ fraction                              [0.2]
 *   --a A               DC-PDD clip                                             [0.01]
 *   --batch-tokens N    tokens per library call in an executor                  [65536]
 *   --show N            documents printed to stdout                             [10]
 * </pre>
 *
 * A user error (a bad option, a missing input, an id outside the vocabulary) exits 2 with one line on
 * stderr.
 */
public final class ScoreCorpus {
    private ScoreCorpus() {
    }

    /** Runs the job; see the class comment for the options. */
    public static void main(String[] args) {
        try {
            run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("entrokit-spark: " + e.getMessage());
            System.exit(2);
        }
    }

    static void run(String[] args) {
        String reference = "spark/sample/reference.parquet";
        String documents = "spark/sample/documents.parquet";
        String output = "spark/target/scores.parquet";
        int vocab = SampleData.VOCAB;
        float k = 0.2f;
        float a = 0.01f;
        int batchTokens = 1 << 16;
        int show = 10;
        for (int i = 0; i < args.length; i++) {
            String opt = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(opt + ": needs a value (or is not an option)");
            }
            String v = args[++i];
            switch (opt) {
                case "--reference" -> reference = v;
                case "--documents" -> documents = v;
                case "--output" -> output = v;
                case "--vocab" -> vocab = integer(opt, v);
                case "--k" -> k = number(opt, v);
                case "--a" -> a = number(opt, v);
                case "--batch-tokens" -> batchTokens = integer(opt, v);
                case "--show" -> show = integer(opt, v);
                default -> throw new IllegalArgumentException(opt + ": unknown option (see ScoreCorpus's Javadoc or the README)");
            }
        }
        ContaminationScoring.Settings settings = new ContaminationScoring.Settings(vocab, k, a, batchTokens);
        for (String[] input : new String[][] {{"--reference", reference}, {"--documents", documents}}) {
            if (!input[1].contains("://") && !new java.io.File(input[1]).exists()) {
                throw new IllegalArgumentException(input[0] + ": " + input[1] + " does not exist");
            }
        }
        SparkSession spark = session("entrokit contamination scoring");
        try {
            Dataset<Row> counts = ContaminationScoring.tokenCounts(spark.read().parquet(reference), vocab);
            float[] freq = ContaminationScoring.frequencies(counts, vocab);
            Dataset<Row> scores = ContaminationScoring.score(spark, spark.read().parquet(documents), freq, settings);
            scores.write().mode(SaveMode.Overwrite).parquet(output);
            Dataset<Row> written = spark.read().parquet(output).orderBy("doc_id");
            System.out.printf(Locale.ROOT, "%d documents scored (master %s, entrokit backend %s); scores in %s%n",
                    written.count(), spark.sparkContext().master(), dev.entrokit.Entrokit.get().backendName(), output);
            written.show(show, false);
        } finally {
            spark.stop();
        }
    }

    /**
     * A session for this JVM: {@code local[*]} unless {@code spark.master} is already configured (spark-submit),
     * bound to the loopback address when local, without the web UI and with few shuffle partitions unless configured too (the defaults suit a cluster's
     * data, not a sample's).
     */
    static SparkSession session(String name) {
        SparkConf conf = new SparkConf().setAppName(name);
        conf.setIfMissing("spark.master", "local[*]");
        if (conf.get("spark.master").startsWith("local")) {
            // One JVM: the driver's endpoints need no address but the loopback one.
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
        }
        conf.setIfMissing("spark.ui.enabled", "false");
        conf.setIfMissing("spark.sql.shuffle.partitions", "4");
        return SparkSession.builder().config(conf).getOrCreate();
    }

    private static int integer(String opt, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + ": expected an integer, got '" + v + "'");
        }
    }

    private static float number(String opt, String v) {
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + ": expected a number, got '" + v + "'");
        }
    }
}
