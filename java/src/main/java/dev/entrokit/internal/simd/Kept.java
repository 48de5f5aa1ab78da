package dev.entrokit.internal.simd;

/**
 * What a ranking of {@link SimdSelectionKernels} kept of a row, read with the thread's {@link Candidates}:
 * the op that asked for it switches over these instead of decoding a length. An enum constant, so the
 * answer allocates nothing.
 */
enum Kept {
    /** A special row (SPEC §1): no distribution, nothing kept. */
    SPECIAL,
    /** The first {@link Candidates#kept} ranked candidates, in SPEC order ({@code n} of them: nothing cut). */
    PREFIX,
    /** Nothing cut, but tokens outside the candidates remain (masked ones among them): every live token. */
    ALL_LIVE,
    /**
     * The kept set reaches below the candidates: every token the cut {@code (Candidates.cutLogit,
     * Candidates.cutIndex)} keeps (see {@link WideCut}).
     */
    CUT
}
