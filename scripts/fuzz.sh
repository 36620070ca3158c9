#!/usr/bin/env bash
# Fuzz every parser of outside input for SECONDS each (default 20): postcodes, NHS numbers,
# the other identifiers (UPN, PNC id, phone, through identifiers::parse and recognise), vehicle
# registrations and the CSV user import. Each target checks properties (normalised values parse
# back to themselves, accepted values re-validate, import rows round-trip), not only panics.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# cargo-fuzz is installed once, pinned, into target/fuzz-tools. libFuzzer needs nightly
# features; RUSTC_BOOTSTRAP=1 lets the stable toolchain build them (CI has stable only).
# Seeds are in fuzz/seeds/<target>; new corpus entries go to fuzz/corpus (ignored by git), and
# a failing input to fuzz/artifacts/<target>/, printed with the command that reproduces it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
SECONDS_EACH=${1:-20}
shift || true
CARGO_FUZZ_VERSION=0.13.2
TOOLS=$REPO/target/fuzz-tools

if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [ "$SECONDS_EACH" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi

if [ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS"
fi
export PATH=$TOOLS/bin:$PATH
export RUSTC_BOOTSTRAP=1
# The fuzz crate has its own workspace and lockfile; keep a caller's target directory out.
unset CARGO_TARGET_DIR

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(postcode nhs_number identifiers vehicle user_import)
fi

# One build for every target: release with debug assertions (cargo-fuzz's default), and no
# AddressSanitizer: mace forbids unsafe code, so ASan would find nothing that a panic or the
# properties do not, and it makes the build and every run slower.
FUZZ_FLAGS=(--sanitizer none)
(cd fuzz && cargo metadata --locked --format-version 1 >/dev/null)
cargo fuzz build "${FUZZ_FLAGS[@]}"

failed=()
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    echo
    echo "--- fuzzing $t for ${SECONDS_EACH}s"
    # -timeout: one input taking over 2 s counts as a failure (bounded time);
    # -rss_limit_mb: far above what a parser needs; -max_len: bigger than any real input but
    # small enough to keep each run quick (the import's own size cap is tested in unit tests).
    if ! cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "$corpus" "fuzz/seeds/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout=2 -rss_limit_mb=1024 -max_len=8192 \
        -print_final_stats=1 2>"fuzz/artifacts/$t/log"; then
        tail -n 40 "fuzz/artifacts/$t/log"
        failed+=("$t")
    else
        grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' \
            "fuzz/artifacts/$t/log" || tail -n 3 "fuzz/artifacts/$t/log"
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo
    echo "fuzzing found failures in: ${failed[*]} (inputs under fuzz/artifacts/)"
    exit 1
fi
echo
echo "fuzzing: ${#targets[@]} targets, ${SECONDS_EACH}s each, no failures"
