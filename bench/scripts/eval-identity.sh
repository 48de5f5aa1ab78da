#!/usr/bin/env bash
# bench/scripts/eval-identity.sh OUT_DIR [BASELINE_DIR]
#   Runs `./entrokit eval` for every op on fixed demo-like inputs (heavy-tailed logits, ~5 % masked to
#   -inf, one NaN row, odd sizes) on the scalar and simd backends, writes every output under OUT_DIR and
#   a SHA256SUMS of them. With BASELINE_DIR (an OUT_DIR of an earlier commit), compares the two byte
#   for byte and exits 1 on any difference: a refactoring that claims "behaviour unchanged" runs this
#   before and after. The settings use the historical CLI keys (k, alpha) on purpose, so that old
#   command lines are what is compared.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:?usage: eval-identity.sh OUT_DIR [BASELINE_DIR]}"
BASE="${2:-}"
mkdir -p "$OUT/in"
OUT="$(cd "$OUT" && pwd)"

python3 - "$OUT/in" <<'EOF'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(20261207)
R, V, T = 7, 1003, 5
def logits(shape):
    x = (rng.standard_t(3, size=shape) * 2.5).astype(np.float32)
    x[rng.random(shape) < 0.05] = -np.inf
    return x
t, s = logits((R, V)), logits((R, V))
s[3, 17] = np.nan                      # a NaN row: NaN results in that row only
np.save(f"{d}/teacher.npy", t); np.save(f"{d}/student.npy", s); np.save(f"{d}/logits.npy", t)
np.save(f"{d}/lame.npy", logits((R, V)))
lab = rng.integers(0, V, size=R).astype(np.int32); lab[2] = -100
np.save(f"{d}/labels.npy", lab)
seq = logits((3, T, V)); np.save(f"{d}/seq.npy", seq); np.save(f"{d}/seq_b.npy", logits((3, T, V)))
ids = rng.integers(0, V, size=(3, T)).astype(np.int32)
np.save(f"{d}/ids.npy", ids)
np.save(f"{d}/freq.npy", ((rng.integers(0, 50, size=V) + 1) / (50 * V + V)).astype(np.float32))
np.save(f"{d}/seeds.npy", rng.integers(-2**62, 2**62, size=R).astype(np.int64))
np.save(f"{d}/x.npy", rng.standard_normal((2, 9, 3)).astype(np.float32))
np.save(f"{d}/y.npy", rng.standard_normal((2, 11, 3)).astype(np.float32))
np.save(f"{d}/cost.npy", rng.random((2, 9, 11)).astype(np.float32))
EOF

I="$OUT/in"
PAIR="--in teacher=$I/teacher.npy --in student=$I/student.npy"
# name | op | arguments
CASES=(
  "softmax|softmax|--in logits=$I/logits.npy --set temperature=0.7"
  "log_softmax|log_softmax|--in logits=$I/logits.npy"
  "logsumexp|logsumexp|--in logits=$I/logits.npy --set temperature=2"
  "entropy|entropy|--in logits=$I/logits.npy"
  "ce_soft|cross_entropy|$PAIR"
  "ce_labels|cross_entropy|--in student=$I/student.npy --in labels=$I/labels.npy --set label_smoothing=0.1"
  "kl|kl|$PAIR --set temperature=0.7"
  "rkl|rkl|$PAIR"
  "jsd|jsd|$PAIR --set beta=0.3"
  "jsd_b0|jsd|$PAIR --set beta=0"
  "jsd_b1|jsd|$PAIR --set beta=1"
  "jeffreys|jeffreys|$PAIR"
  "tv|tv|$PAIR"
  "hellinger|hellinger|$PAIR"
  "alpha_div|alpha_div|$PAIR --set alpha=0.3"
  "alpha_div_a1|alpha_div|$PAIR --set alpha=1"
  "alpha_div_a0|alpha_div|$PAIR --set alpha=0"
  "renyi|renyi|$PAIR --set alpha=2"
  "renyi_a1|renyi|$PAIR --set alpha=1"
  "chi2|chi2|$PAIR"
  "pld|pld|$PAIR --in labels=$I/labels.npy"
  "top_k|top_k|--in logits=$I/logits.npy --set k=37"
  "top_p|top_p|--in logits=$I/logits.npy --set p=0.8"
  "min_p|min_p|--in logits=$I/logits.npy --set min_p=0.05"
  "top_h|top_h|--in logits=$I/logits.npy --set alpha=0.3 --set n=200"
  "top_h_norm|top_h|--in logits=$I/logits.npy --set alpha=0.5 --set mode=normalized"
  "sample|sample|--in logits=$I/logits.npy --set seed=7 --set step=3 --set top_k=100 --set top_p=0.9 --set min_p=0.01 --set top_h=0.6"
  "sample_seeds|sample|--in logits=$I/logits.npy --in seeds=$I/seeds.npy --set temperature=0.8"
  "token_logprob|token_logprob|--in logits=$I/seq.npy --in ids=$I/ids.npy"
  "min_k_prob|min_k_prob|--in logits=$I/seq.npy --in ids=$I/ids.npy --set k=0.4"
  "min_k_pp|min_k_pp|--in logits=$I/seq.npy --in ids=$I/ids.npy --set k=0.6"
  "dcpdd|dcpdd|--in logits=$I/seq.npy --in ids=$I/ids.npy --in freq=$I/freq.npy --set a=0.02"
  "likelihood_ratio|likelihood_ratio|--in logits_a=$I/seq.npy --in logits_b=$I/seq_b.npy --in ids=$I/ids.npy"
  "contrastive|contrastive|--in logits=$I/logits.npy --in lame_logits=$I/lame.npy --set lambda=0.7"
  "contrastive_jsd|contrastive|--in logits=$I/logits.npy --in lame_logits=$I/lame.npy --set uncertainty=jsd --set threshold=0.1"
  "sinkhorn|sinkhorn|--in cost=$I/cost.npy --set epsilon=0.1 --set plan=true"
  "sinkhorn_xy|sinkhorn|--in x=$I/x.npy --in y=$I/y.npy --set metric=l1"
  "sinkhorn_div|sinkhorn_divergence|--in x=$I/x.npy --in y=$I/y.npy"
  "sinkd|sinkd|$PAIR"
)

for backend in scalar simd; do
  for c in "${CASES[@]}"; do
    IFS='|' read -r name op args <<<"$c"
    dir="$OUT/$backend/$name"
    # shellcheck disable=SC2086 # $args is a word list by design
    "$ROOT/entrokit" eval "$op" --backend "$backend" --threads 2 $args --out "$dir" >/dev/null
  done
done
(cd "$OUT" && find scalar simd -name '*.npy' | LC_ALL=C sort | xargs sha256sum) >"$OUT/SHA256SUMS"
echo "eval-identity: $(wc -l <"$OUT/SHA256SUMS") outputs in $OUT"
if [ -n "$BASE" ]; then
  if diff "$BASE/SHA256SUMS" "$OUT/SHA256SUMS"; then
    echo "eval-identity: bit-identical to $BASE"
  else
    echo "eval-identity: outputs differ from $BASE" >&2
    exit 1
  fi
fi
