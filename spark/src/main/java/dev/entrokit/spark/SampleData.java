package dev.entrokit.spark;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The bundled sample ({@code spark/sample/}), generated from fixed seeds: a reference corpus of token-id
 * sequences and documents with the per-token values a model run emits, over a vocabulary of
 * {@link #VOCAB} tokens. Each position of a document draws logits (Gaussian, scale 2; the documents with
 * an even index get +3 on the observed token, as text a model has memorized would); {@code logprobs},
 * {@code means} and {@code variances} of {@code log p} are computed from them in float64, and
 * {@code ref_logprobs} from the same logits plus noise and without the bonus (a reference model). Lengths
 * run from 1 to 40 tokens.
 *
 * <p>{@code java ... dev.entrokit.spark.SampleData [DIR]} rewrites {@code DIR/reference.parquet} and
 * {@code DIR/documents.parquet} (default {@code spark/sample}); the rows are the same on every run, and the
 * test checks the bundled files against {@link #referenceRows()} and {@link #documentRows()}.
 */
public final class SampleData {
    /** The sample's vocabulary size. */
    public static final int VOCAB = 64;
    private static final int SEQUENCES = 120;
    private static final int DOCUMENTS = 24;

    /** Schema of the reference corpus. */
    public static final StructType REFERENCE = new StructType()
            .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false);
    /** Schema of the documents. */
    public static final StructType DOCUMENTS_SCHEMA = new StructType()
            .add("doc_id", DataTypes.LongType, false)
            .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
            .add("logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false)
            .add("means", DataTypes.createArrayType(DataTypes.FloatType, false), false)
            .add("variances", DataTypes.createArrayType(DataTypes.FloatType, false), false)
            .add("ref_logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false);

    private SampleData() {
    }

    /** A token id skewed towards small ids, as natural text's are. */
    private static int token(SplittableRandom r) {
        double u = r.nextDouble();
        return (int) (VOCAB * u * u);
    }

    /** The reference corpus's rows. */
    public static List<Row> referenceRows() {
        SplittableRandom r = new SplittableRandom(20261207L);
        List<Row> rows = new ArrayList<>();
        for (int s = 0; s < SEQUENCES; s++) {
            int[] ids = new int[4 + r.nextInt(40)];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = token(r);
            }
            rows.add(RowFactory.create((Object) ids));
        }
        return rows;
    }

    /** The documents' rows (see the class comment). */
    public static List<Row> documentRows() {
        SplittableRandom r = new SplittableRandom(7L);
        List<Row> rows = new ArrayList<>();
        double[] x = new double[VOCAB];
        for (int q = 0; q < DOCUMENTS; q++) {
            int length = q == 0 ? 1 : 1 + r.nextInt(40);
            int[] ids = new int[length];
            float[] lp = new float[length];
            float[] mu = new float[length];
            float[] var = new float[length];
            float[] ref = new float[length];
            for (int t = 0; t < length; t++) {
                ids[t] = token(r);
                for (int v = 0; v < VOCAB; v++) {
                    x[v] = 2 * r.nextGaussian();
                }
                double[] own = logSoftmax(x, q % 2 == 0 ? ids[t] : -1);
                double m1 = 0;
                double m2 = 0;
                for (double l : own) {
                    m1 += Math.exp(l) * l;
                    m2 += Math.exp(l) * l * l;
                }
                lp[t] = (float) own[ids[t]];
                mu[t] = (float) m1;
                var[t] = (float) Math.max(0, m2 - m1 * m1);
                for (int v = 0; v < VOCAB; v++) {
                    x[v] += 0.5 * r.nextGaussian();
                }
                ref[t] = (float) logSoftmax(x, -1)[ids[t]];
            }
            rows.add(RowFactory.create(1000L + q, ids, lp, mu, var, ref));
        }
        return rows;
    }

    /** {@code log_softmax(x)} in float64, with 3 added to {@code x[bonus]} first (none when {@code bonus < 0}). */
    private static double[] logSoftmax(double[] x, int bonus) {
        double[] z = x.clone();
        if (bonus >= 0) {
            z[bonus] += 3;
        }
        double m = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            m = Math.max(m, v);
        }
        double s = 0;
        for (double v : z) {
            s += Math.exp(v - m);
        }
        double lse = m + Math.log(s);
        for (int v = 0; v < z.length; v++) {
            z[v] -= lse;
        }
        return z;
    }

    /** Writes both files into {@code dir}, each as one Parquet file. */
    public static void write(SparkSession spark, File dir) throws IOException {
        writeOne(spark, referenceRows(), REFERENCE, new File(dir, "reference.parquet"));
        writeOne(spark, documentRows(), DOCUMENTS_SCHEMA, new File(dir, "documents.parquet"));
    }

    /** Spark writes a folder of part files; the sample keeps its one part under the plain name. */
    private static void writeOne(SparkSession spark, List<Row> rows, StructType schema, File target) throws IOException {
        Path tmp = Files.createTempDirectory("entrokit-sample");
        try {
            Path out = tmp.resolve("out");
            spark.createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.Overwrite).parquet(out.toString());
            Path part;
            try (Stream<Path> files = Files.list(out)) {
                part = files.filter(p -> p.getFileName().toString().endsWith(".parquet")).findFirst()
                        .orElseThrow(() -> new IOException("Spark wrote no Parquet part into " + out));
            }
            Files.createDirectories(target.toPath().getParent());
            Files.copy(part, target.toPath(), StandardCopyOption.REPLACE_EXISTING);
        } finally {
            try (Stream<Path> all = Files.walk(tmp)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Regenerates the sample into {@code args[0]} (default {@code spark/sample}). */
    public static void main(String[] args) throws IOException {
        File dir = new File(args.length > 0 ? args[0] : "spark/sample");
        SparkSession spark = ScoreCorpus.session("entrokit sample data");
        try {
            write(spark, dir);
        } finally {
            spark.stop();
        }
        System.out.println("wrote " + new File(dir, "reference.parquet") + " and " + new File(dir, "documents.parquet"));
    }
}
