package dev.entrokit;

/**
 * What a sparse teacher (top-k ids and their log-probabilities) is compared over in
 * {@link Entrokit#sparseDistill}.
 */
public enum TeacherMass {
    /**
     * Both sides renormalized over the teacher's {@code k} ids: {@code P_j = e^{lp_j}/Σ e^{lp}},
     * {@code Q_j = q_{id_j}/Σ_j q_{id_j}}. Tokens outside the ids get a zero gradient.
     */
    RENORMALIZED,
    /**
     * The {@code k} ids as given plus one "rest" bucket: the teacher's missing mass {@code 1 − Σ e^{lp}}
     * against the student's mass outside the ids, {@code 1 − Σ_j q_{id_j}}.
     */
    REST_BUCKET
}
