"""Splink peer for mace's linkage benchmark (crates/bench/src/bin/linkage.rs).

Deduplicates the labelled 50k historical-figures set with Splink 5 on DuckDB, using the
model Splink's own documentation builds for this data set (name, date of birth and postcode
comparisons; exact birth place and occupation with term-frequency adjustments; u by random
sampling, m by expectation maximisation on two blocking rules), then clusters the pairwise
predictions at each requested threshold.

Usage: splink_dedupe.py INPUT.csv OUTDIR THRESHOLD [THRESHOLD ...]
Writes OUTDIR/splink_<threshold>.csv (unique_id,cluster_id) and prints one JSON line with
the timings in seconds, measured inside the process from reading the CSV to the clusters
(interpreter start and imports excluded, as for mace).
"""

import json
import logging
import os
import resource
import sys
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def main() -> None:
    path, outdir, thresholds = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3:]]
    t0 = time.perf_counter()
    df = pd.read_csv(path, dtype=str, keep_default_na=True)
    db_api = DuckDBAPI()
    sdf = db_api.register(df)
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
            block_on("surname", "dob"),
            block_on("first_name", "dob"),
            block_on("postcode_fake", "first_name"),
            block_on("postcode_fake", "surname"),
            block_on("dob", "birth_place"),
        ],
        comparisons=[
            cl.ForenameSurnameComparison("first_name", "surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode_fake"),
            cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
            cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(sdf, settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), estimate_without_term_frequencies=True
    )
    t_train = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(thresholds) / 2)
    t_predict = time.perf_counter()
    n_pairs = len(predictions.as_pandas_dataframe())
    clusters = {}
    for t in thresholds:
        c = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=t
        )
        clusters[t] = c.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    t_end = time.perf_counter()
    for t, frame in clusters.items():
        frame.to_csv(os.path.join(outdir, f"splink_{t}.csv"), index=False)
    print(
        json.dumps(
            {
                "total": t_end - t0,
                "train": t_train - t0,
                "predict": t_predict - t_train,
                "cluster": t_end - t_predict,
                "pairs": int(n_pairs),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
