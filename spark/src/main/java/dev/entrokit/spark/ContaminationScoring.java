package dev.entrokit.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;

import dev.entrokit.DType;
import dev.entrokit.Entrokit;
import dev.entrokit.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Pretraining-data detection over a corpus on Apache Spark, with entrokit inside the executors.
 *
 * <ol>
 *   <li>DC-PDD's token-frequency distribution from a reference corpus (Parquet, a column {@code ids} of
 *       {@code array<int>} token-id sequences) by Spark's own aggregation ({@code explode}, {@code groupBy},
 *       {@code count}), Laplace-smoothed on the driver, {@code f_v = (c_v + 1)/(Σc + V)} (SPEC §4), and
 *       broadcast as a {@code float[V]}.</li>
 *   <li>The documents (Parquet: {@code doc_id} long, {@code ids} {@code array<int>}, {@code logprobs}
 *       {@code array<float>} the per-token log-probabilities of the model under test; optionally
 *       {@code means} and {@code variances}, the per-position mean and variance of {@code log p} that
 *       entrokit's fused pass emits, and {@code ref_logprobs}, a reference model's log-probabilities) are
 *       scored per partition in batches: each batch's documents are packed into off-heap tensors (one
 *       confined arena per partition, read from Spark's internal rows with no per-token object) and scored by
 *       {@link DetectionScores#minKProbPacked}, {@link DetectionScores#minKPlusPlusPacked}, {@link DetectionScores#dcpddPacked}
 *       and {@link DetectionScores#likelihoodRatioPacked}.</li>
 * </ol>
 *
 * <p>The output has one row per document: {@code doc_id}, {@code tokens}, {@code min_k}, {@code min_k_pp}
 * (null without means and variances), {@code dcpdd}, {@code likelihood_ratio} (null without
 * {@code ref_logprobs}). Higher means more likely seen in training for the first three (SPEC §4).
 */
public final class ContaminationScoring {
    /** The output's schema. */
    public static final StructType SCORES = new StructType(new StructField[] {
            DataTypes.createStructField("doc_id", DataTypes.LongType, false),
            DataTypes.createStructField("tokens", DataTypes.IntegerType, false),
            DataTypes.createStructField("min_k", DataTypes.FloatType, false),
            DataTypes.createStructField("min_k_pp", DataTypes.FloatType, true),
            DataTypes.createStructField("dcpdd", DataTypes.FloatType, false),
            DataTypes.createStructField("likelihood_ratio", DataTypes.FloatType, true)});

    private ContaminationScoring() {
    }

    /**
     * The job's settings.
     *
     * @param vocab       the vocabulary size {@code V}: every token id is in {@code [0, V)}
     * @param k           Min-K% and Min-K%++'s fraction in {@code (0, 1]}
     * @param a           DC-PDD's clip, finite and {@code > 0}
     * @param batchTokens tokens packed into one call of the library per batch (a document longer than that
     *                    is a batch of its own)
     */
    public record Settings(int vocab, float k, float a, int batchTokens) implements java.io.Serializable {
        /** Checks every field; the message names it. */
        public Settings {
            if (vocab < 1) {
                throw new IllegalArgumentException("vocab: must be >= 1, got " + vocab);
            }
            if (!(k > 0f && k <= 1f)) {
                throw new IllegalArgumentException("k: must be a fraction in (0, 1], got " + k);
            }
            if (!(a > 0f) || Float.isInfinite(a)) {
                throw new IllegalArgumentException("a: must be finite and > 0, got " + a);
            }
            if (batchTokens < 1) {
                throw new IllegalArgumentException("batchTokens: must be >= 1, got " + batchTokens);
            }
        }
    }

    /**
     * Token counts of the reference corpus by Spark's aggregation: one row {@code (token, count)} per token
     * id that occurs. Ids outside {@code [0, vocab)} are refused by name before the counts are returned.
     */
    public static Dataset<Row> tokenCounts(Dataset<Row> reference, int vocab) {
        Dataset<Row> tokens = reference.select(explode(col("ids").cast("array<int>")).as("token"));
        Row range = tokens.agg(min("token"), max("token")).first();
        if (!range.isNullAt(0) && (range.getInt(0) < 0 || range.getInt(1) >= vocab)) {
            throw new IllegalArgumentException("reference: token ids span [" + range.getInt(0) + ", " + range.getInt(1)
                    + "], outside [0, " + vocab + ") (vocab)");
        }
        return tokens.groupBy("token").count();
    }

    /** Laplace-smoothed frequencies {@code (c_v + 1)/(Σc + V)} from {@link #tokenCounts}, collected on the driver. */
    public static float[] frequencies(Dataset<Row> counts, int vocab) {
        long[] c = new long[vocab];
        long total = 0;
        for (Row r : counts.collectAsList()) {
            c[r.getInt(0)] = r.getLong(1);
            total += r.getLong(1);
        }
        float[] f = new float[vocab];
        for (int v = 0; v < vocab; v++) {
            f[v] = (float) ((c[v] + 1.0) / ((double) total + vocab));
        }
        return f;
    }

    /** The scores of every document (see the class comment), computed in the executors. */
    public static Dataset<Row> score(SparkSession spark, Dataset<Row> documents, float[] freq, Settings settings) {
        List<String> names = Arrays.asList(documents.columns());
        for (String required : new String[] {"doc_id", "ids", "logprobs"}) {
            if (!names.contains(required)) {
                throw new IllegalArgumentException("documents: no column " + required + " (has " + names + ")");
            }
        }
        boolean moments = names.contains("means") && names.contains("variances");
        boolean reference = names.contains("ref_logprobs");
        // The partition scorer reads the internal rows by ordinal and type: cast to exactly what it reads
        // (an int doc_id or double log-probabilities would otherwise be read as other bytes).
        List<Column> columns = new ArrayList<>(List.of(col("doc_id").cast("long"), col("ids").cast("array<int>"),
                col("logprobs").cast("array<float>")));
        if (moments) {
            columns.add(col("means").cast("array<float>"));
            columns.add(col("variances").cast("array<float>"));
        }
        if (reference) {
            columns.add(col("ref_logprobs").cast("array<float>"));
        }
        Dataset<Row> selected = documents.select(columns.toArray(Column[]::new));
        Broadcast<float[]> shared = spark.sparkContext().broadcast(freq, scala.reflect.ClassTag$.MODULE$.apply(float[].class));
        JavaRDD<InternalRow> rows = selected.queryExecution().toRdd().toJavaRDD();
        JavaRDD<Row> scored = rows.mapPartitions(new PartitionScorer(shared, settings, moments, reference));
        return spark.createDataFrame(scored, SCORES);
    }

    /**
     * Scores one partition: documents are copied from Spark's internal rows (reused by the iterator, so
     * copied at once) into off-heap buffers until a batch holds {@code batchTokens} tokens, then the batch
     * is scored by the library in four calls and its rows emitted.
     */
    static final class PartitionScorer implements FlatMapFunction<Iterator<InternalRow>, Row> {
        private static final long serialVersionUID = 1L;
        private final Broadcast<float[]> freq;
        private final Settings settings;
        private final boolean moments;
        private final boolean reference;

        PartitionScorer(Broadcast<float[]> freq, Settings settings, boolean moments, boolean reference) {
            this.freq = freq;
            this.settings = settings;
            this.moments = moments;
            this.reference = reference;
        }

        @Override
        public Iterator<Row> call(Iterator<InternalRow> input) {
            List<Row> out = new ArrayList<>();
            float[] f = freq.value();
            try (Arena arena = Arena.ofConfined()) {
                Batch batch = new Batch(arena, settings.batchTokens(), moments, reference);
                Tensor freqTensor = Tensor.of(arena.allocateFrom(ValueLayout.JAVA_FLOAT, f), DType.F32, f.length);
                while (input.hasNext()) {
                    InternalRow row = input.next();
                    int length = row.isNullAt(1) ? 0 : row.getArray(1).numElements();
                    if (batch.docs() > 0 && !batch.fits(length)) {
                        batch.score(freqTensor, settings, out);
                    }
                    batch.add(row, settings.vocab());
                }
                if (batch.docs() > 0) {
                    batch.score(freqTensor, settings, out);
                }
            }
            return out.iterator();
        }
    }

    /** One batch of packed documents in off-heap memory; grows (by reallocation) only for a longer document. */
    static final class Batch {
        private final Arena arena;
        private final boolean moments;
        private final boolean reference;
        private int capacity;
        private MemorySegment ids;
        private MemorySegment logprobs;
        private MemorySegment means;
        private MemorySegment variances;
        private MemorySegment refLogprobs;
        private MemorySegment offsetSegment;
        private MemorySegment scores;
        private int[] offsets = new int[16];
        private long[] docIds = new long[16];
        private int docs;
        private int tokens;

        Batch(Arena arena, int capacity, boolean moments, boolean reference) {
            this.arena = arena;
            this.moments = moments;
            this.reference = reference;
            allocate(capacity);
        }

        private void allocate(int size) {
            capacity = size;
            ids = arena.allocate((long) size * Integer.BYTES, Integer.BYTES);
            logprobs = arena.allocate((long) size * Float.BYTES, Float.BYTES);
            means = moments ? arena.allocate((long) size * Float.BYTES, Float.BYTES) : null;
            variances = moments ? arena.allocate((long) size * Float.BYTES, Float.BYTES) : null;
            refLogprobs = reference ? arena.allocate((long) size * Float.BYTES, Float.BYTES) : null;
            // A batch holds at most one document per token.
            offsetSegment = arena.allocate((size + 1L) * Integer.BYTES, Integer.BYTES);
            scores = arena.allocate(4L * size * Float.BYTES, Float.BYTES);
        }

        int docs() {
            return docs;
        }

        boolean fits(int length) {
            return tokens + length <= capacity;
        }

        /** Copies document {@code row} (columns as {@link #score} selects them) into the batch. */
        void add(InternalRow row, int vocab) {
            if (row.isNullAt(0)) {
                throw new IllegalArgumentException("documents: a document has a null doc_id");
            }
            long docId = row.getLong(0);
            if (row.isNullAt(1) || row.isNullAt(2)) {
                throw new IllegalArgumentException("documents: doc_id " + docId + " has no ids or no logprobs");
            }
            ArrayData idArray = row.getArray(1);
            int length = idArray.numElements();
            if (length == 0) {
                throw new IllegalArgumentException("documents: doc_id " + docId + " has no tokens");
            }
            if (tokens + length > capacity) {
                // Only an empty batch gets here (a longer document than any before): nothing to keep, and the
                // old buffers go with the partition's arena.
                allocate(Math.max(capacity, length));
            }
            int col = 2;
            copyFloats(row.getArray(col++), length, logprobs, docId, "logprobs");
            if (moments) {
                copyFloats(row.isNullAt(col) ? null : row.getArray(col), length, means, docId, "means");
                col++;
                copyFloats(row.isNullAt(col) ? null : row.getArray(col), length, variances, docId, "variances");
                col++;
            }
            if (reference) {
                copyFloats(row.isNullAt(col) ? null : row.getArray(col), length, refLogprobs, docId, "ref_logprobs");
            }
            for (int t = 0; t < length; t++) {
                if (idArray.isNullAt(t)) {
                    throw new IllegalArgumentException("documents: doc_id " + docId + " has a null token id at " + t);
                }
                int y = idArray.getInt(t);
                if (y < 0 || y >= vocab) {
                    throw new IllegalArgumentException("documents: doc_id " + docId + " has token id " + y + " at " + t
                            + ", outside [0, " + vocab + ") (vocab)");
                }
                ids.setAtIndex(ValueLayout.JAVA_INT, tokens + t, y);
            }
            if (docs + 1 >= offsets.length) {
                offsets = Arrays.copyOf(offsets, 2 * offsets.length);
                docIds = Arrays.copyOf(docIds, 2 * docIds.length);
            }
            docIds[docs] = docId;
            docs++;
            tokens += length;
            offsets[docs] = tokens;
        }

        /** {@code values[0..length)} into {@code to} after the batch's tokens; a null array or entry is NaN. */
        private void copyFloats(ArrayData values, int length, MemorySegment to, long docId, String name) {
            if (values != null && values.numElements() != length) {
                throw new IllegalArgumentException("documents: doc_id " + docId + " has " + values.numElements() + " "
                        + name + " for " + length + " token ids");
            }
            for (int t = 0; t < length; t++) {
                float v = values == null || values.isNullAt(t) ? Float.NaN : values.getFloat(t);
                to.setAtIndex(ValueLayout.JAVA_FLOAT, tokens + t, v);
            }
        }

        /** Scores the batch's documents into {@code out} and empties the batch. */
        void score(Tensor freq, Settings s, List<Row> out) {
            Entrokit ek = Entrokit.get();
            MemorySegment.copy(offsets, 0, offsetSegment, ValueLayout.JAVA_INT, 0, docs + 1);
            Tensor offs = Tensor.of(offsetSegment, DType.I32, docs + 1);
            Tensor lp = Tensor.of(logprobs, DType.F32, tokens);
            ek.scores().minKProbPacked(lp, offs, s.k(), view(scores, 0));
            if (moments) {
                ek.scores().minKPlusPlusPacked(lp, Tensor.of(means, DType.F32, tokens), Tensor.of(variances, DType.F32,
                        tokens), offs, s.k(), view(scores, 1));
            }
            ek.scores().dcpddPacked(lp, Tensor.of(ids, DType.I32, tokens), offs, freq, s.a(), view(scores, 2));
            if (reference) {
                ek.scores().likelihoodRatioPacked(lp, Tensor.of(refLogprobs, DType.F32, tokens), offs, view(scores, 3));
            }
            for (int q = 0; q < docs; q++) {
                out.add(RowFactory.create(docIds[q], offsets[q + 1] - offsets[q], at(scores, 0, q),
                        moments ? at(scores, 1, q) : null, at(scores, 2, q), reference ? at(scores, 3, q) : null));
            }
            docs = 0;
            tokens = 0;
        }

        private Tensor view(MemorySegment scores, int which) {
            return Tensor.of(scores.asSlice((long) which * docs * Float.BYTES, (long) docs * Float.BYTES), DType.F32, docs);
        }

        private float at(MemorySegment scores, int which, int q) {
            return scores.getAtIndex(ValueLayout.JAVA_FLOAT, (long) which * docs + q);
        }
    }
}
