package dev.entrokit.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.entrokit.Entrokit;
import dev.entrokit.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Spark job in local mode (two executor threads) on the bundled sample: the token frequencies against a
 * count of the collected corpus, every document's four scores against the library called directly on that
 * document alone (the same packed kernels: exact equality, whatever the batching and partitioning), and
 * the bundled files against the generator.
 */
class ContaminationScoringTest {
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("entrokit-spark-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "3")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    private static Dataset<Row> reference() {
        return spark.read().parquet("sample/reference.parquet");
    }

    private static Dataset<Row> documents() {
        return spark.read().parquet("sample/documents.parquet");
    }

    @Test
    void frequenciesAreTheLaplaceSmoothedCountsOfTheCorpus() {
        float[] freq = ContaminationScoring.frequencies(ContaminationScoring.tokenCounts(reference(), SampleData.VOCAB),
                SampleData.VOCAB);
        long[] counts = new long[SampleData.VOCAB];
        long total = 0;
        for (Row r : SampleData.referenceRows()) {
            for (int id : (int[]) r.get(0)) {
                counts[id]++;
                total++;
            }
        }
        float[] expected = new float[SampleData.VOCAB];
        double sum = 0;
        for (int v = 0; v < expected.length; v++) {
            expected[v] = (float) ((counts[v] + 1.0) / (total + SampleData.VOCAB));
            sum += freq[v];
        }
        assertArrayEquals(expected, freq);
        assertEquals(1.0, sum, 1e-5, "a distribution");
        assertTrue(counts[SampleData.VOCAB - 1] == 0 || freq[0] > freq[SampleData.VOCAB - 1], "skewed towards small ids");
    }

    @Test
    void eachDocumentsScoresAreTheLibrarysOnThatDocumentAlone() {
        float[] freq = ContaminationScoring.frequencies(ContaminationScoring.tokenCounts(reference(), SampleData.VOCAB),
                SampleData.VOCAB);
        Map<Long, Row> byId = new HashMap<>();
        for (Row r : SampleData.documentRows()) {
            byId.put(r.getLong(0), r);
        }
        // Batches of at most 16 tokens over 3 partitions (several documents per call, long ones alone), and
        // everything in one call: the same scores.
        for (int batchTokens : new int[] {16, 1 << 16}) {
            ContaminationScoring.Settings s = new ContaminationScoring.Settings(SampleData.VOCAB, 0.2f, 0.01f, batchTokens);
            List<Row> scored = ContaminationScoring.score(spark, documents().repartition(3), freq, s).collectAsList();
            assertEquals(byId.size(), scored.size(), "one row per document");
            for (Row out : scored) {
                Row doc = byId.get(out.getLong(0));
                float[] expected = direct(doc, freq, s);
                String what = "doc " + out.getLong(0) + " (batches of " + batchTokens + " tokens)";
                assertEquals(((int[]) doc.get(1)).length, out.getInt(1), what + " tokens");
                assertEquals(expected[0], out.getFloat(2), 0f, what + " min_k");
                assertEquals(expected[1], out.getFloat(3), 0f, what + " min_k_pp");
                assertEquals(expected[2], out.getFloat(4), 0f, what + " dcpdd");
                assertEquals(expected[3], out.getFloat(5), 0f, what + " likelihood_ratio");
            }
        }
    }

    /** The four scores of one document from the library directly, one sequence, on-heap tensors. */
    private static float[] direct(Row doc, float[] freq, ContaminationScoring.Settings s) {
        Entrokit ek = Entrokit.get();
        int[] ids = (int[]) doc.get(1);
        Tensor lp = Tensor.of((float[]) doc.get(2));
        Tensor offsets = Tensor.of(new int[] {0, ids.length});
        float[][] out = new float[4][1];
        ek.scores().minKProbPacked(lp, offsets, s.k(), Tensor.of(out[0]));
        ek.scores().minKPlusPlusPacked(lp, Tensor.of((float[]) doc.get(3)), Tensor.of((float[]) doc.get(4)), offsets,
                s.k(), Tensor.of(out[1]));
        ek.scores().dcpddPacked(lp, Tensor.of(ids), offsets, Tensor.of(freq), s.a(), Tensor.of(out[2]));
        ek.scores().likelihoodRatioPacked(lp, Tensor.of((float[]) doc.get(5)), offsets, Tensor.of(out[3]));
        return new float[] {out[0][0], out[1][0], out[2][0], out[3][0]};
    }

    /** Without means, variances and a reference model, those two scores are null and the others unchanged. */
    @Test
    void optionalColumnsLeaveTheirScoresNull() {
        float[] freq = ContaminationScoring.frequencies(ContaminationScoring.tokenCounts(reference(), SampleData.VOCAB),
                SampleData.VOCAB);
        ContaminationScoring.Settings s = new ContaminationScoring.Settings(SampleData.VOCAB, 0.2f, 0.01f, 64);
        List<Row> full = ContaminationScoring.score(spark, documents(), freq, s).orderBy("doc_id").collectAsList();
        List<Row> bare = ContaminationScoring.score(spark, documents().select("doc_id", "ids", "logprobs"), freq, s)
                .orderBy("doc_id").collectAsList();
        for (int q = 0; q < full.size(); q++) {
            assertNull(bare.get(q).get(3));
            assertNull(bare.get(q).get(5));
            assertEquals(full.get(q).getFloat(2), bare.get(q).getFloat(2));
            assertEquals(full.get(q).getFloat(4), bare.get(q).getFloat(4));
        }
        // Wider or narrower column types are read as what they hold: an int doc_id, double log-probabilities.
        List<Row> widened = ContaminationScoring.score(spark, documents()
                .withColumn("doc_id", org.apache.spark.sql.functions.col("doc_id").cast("int"))
                .withColumn("logprobs", org.apache.spark.sql.functions.col("logprobs").cast("array<double>")), freq, s)
                .orderBy("doc_id").collectAsList();
        assertEquals(full, widened);
        // The memorized half (even indices: +3 on the observed token) scores higher on Min-K% on average.
        double even = 0;
        double odd = 0;
        for (int q = 0; q < full.size(); q++) {
            if (q % 2 == 0) {
                even += full.get(q).getFloat(2);
            } else {
                odd += full.get(q).getFloat(2);
            }
        }
        assertTrue(even > odd, "memorized documents: " + even + " vs " + odd);
    }

    /**
     * The bundled files hold the generator's rows (Parquet's footer is not byte-stable between writes,
     * so the rows are compared, every column of every row).
     */
    @Test
    void theBundledSampleHoldsTheGeneratorsRows() {
        List<Row> refs = reference().collectAsList();
        List<Row> generatedRefs = SampleData.referenceRows();
        assertEquals(generatedRefs.size(), refs.size());
        for (int q = 0; q < refs.size(); q++) {
            assertArrayEquals((int[]) generatedRefs.get(q).get(0), ints(refs.get(q).getList(0)), "reference row " + q
                    + ": regenerate the sample with ./entrokit spark --generate-sample");
        }
        List<Row> docs = documents().orderBy("doc_id").collectAsList();
        List<Row> generated = SampleData.documentRows();
        assertEquals(generated.size(), docs.size());
        for (int q = 0; q < docs.size(); q++) {
            Row g = generated.get(q);
            Row d = docs.get(q);
            String what = "document " + g.getLong(0) + ": regenerate the sample with ./entrokit spark --generate-sample";
            assertEquals(g.getLong(0), d.getLong(0), what);
            assertArrayEquals((int[]) g.get(1), ints(d.getList(1)), what);
            for (int c = 2; c < 6; c++) {
                assertArrayEquals((float[]) g.get(c), floats(d.getList(c)), what + ", column " + c);
            }
        }
    }

    private static int[] ints(List<Integer> list) {
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float[] floats(List<Float> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    @Test
    void badInputIsRefusedByName() {
        Dataset<Row> outOfRange = spark.createDataFrame(List.of(org.apache.spark.sql.RowFactory.create(
                (Object) new int[] {1, 70})), SampleData.REFERENCE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ContaminationScoring.tokenCounts(outOfRange, SampleData.VOCAB));
        assertEquals("reference: token ids span [1, 70], outside [0, 64) (vocab)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ContaminationScoring.score(spark,
                documents().drop("logprobs"), new float[SampleData.VOCAB], new ContaminationScoring.Settings(64, 0.2f, 0.01f, 8)));
        assertTrue(e.getMessage().startsWith("documents: no column logprobs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ContaminationScoring.Settings(64, 1.5f, 0.01f, 8));
        assertEquals("k: must be a fraction in (0, 1], got 1.5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ScoreCorpus.run(new String[] {"--vocab", "many"}));
        assertEquals("--vocab: expected an integer, got 'many'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ScoreCorpus.run(new String[] {"--reference",
                "sample/reference.parquet", "--documents", "no/such.parquet"}));
        assertEquals("--documents: no/such.parquet does not exist", e.getMessage());
        assertNotEquals(0, SampleData.documentRows().size());
    }
}
