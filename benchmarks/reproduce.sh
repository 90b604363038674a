#!/usr/bin/env bash
# Every number in the README, from scratch (about an hour on 2 cores; `evaluate` trains two runs at
# a time there, see --jobs). Outputs go to results/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results

# The sample world and what each of its sources says about genre.
python -m benchmarks.world_report --data sample_data | tee results/world_report.txt

# Evaluation split (+ validation folder for tuning), tuning on validation only.
python -m musig split --data sample_data --out results/sample_split --val 1000
python -m benchmarks.tune --data results/sample_split/validation --out results/tuning.json

# Main table, ablations, three training seeds.
python -m musig evaluate --data results/sample_split --out results/sample
python -m musig evaluate --data results/sample_split --out results/sample_ablations --ablations \
  --runs results/sample/runs
python -m musig evaluate --data results/sample_split --out results/sample_seeds \
  --methods als item2vec sage musig --seeds 0 1 2 --runs results/sample/runs
# Same numbers twice: the main table and the ablations again, every run retrained from scratch.
python -m musig evaluate --data results/sample_split --out results/sample_b
python -m musig evaluate --data results/sample_split --out results/sample_ablations_b --ablations \
  --runs results/sample_b/runs
python -m benchmarks.same_numbers results/sample results/sample_b
python -m benchmarks.same_numbers results/sample_ablations results/sample_ablations_b
# Issue #14: MUSIG's defaults changed; sage and musig scored again on the same split.
python -m musig evaluate --data results/sample_split --out results/sample_new --methods sage musig
# Issue #14, settings frozen on validation: each method's popularity term and ALS's artist
# weight (benchmarks/results/musig_validation.md), then the table and three seeds with them.
V=results/sample_split/validation
for m in item2vec deepwalk node2vec content sage musig; do
  python -m benchmarks.design_run --data $V --method $m --log results/sample_design.jsonl \
    --query cos cos+0.01 cos+0.03 cos+0.05 cos+0.1 cos+0.2
done
for w in 0.3 1.0 3.0; do
  python -m benchmarks.design_run --data $V --method als --set artist_weight=$w \
    --log results/sample_design.jsonl --query cos cos+0.01 cos+0.03 cos+0.05 cos+0.1
done
FROZEN=(--set als:artist_weight=1.0 --query als=cos+0.05 item2vec=cos+0.05 sage=cos+0.03
        musig=cos+0.03)
python -m musig evaluate --data results/sample_split --out results/sample_frozen "${FROZEN[@]}" \
  deepwalk=cos+0.05 node2vec=cos+0.05 content=cos+0.2
python -m musig evaluate --data results/sample_split --out results/sample_frozen_seeds \
  --methods als item2vec sage musig --seeds 0 1 2 --runs results/sample_frozen/runs "${FROZEN[@]}"

# A second world: another seed and size, the generator's frozen defaults otherwise.
python -m musig generate --out results/world2 --tracks 3000 --playlists 6000 --seed 1
python -m musig features --data results/world2
python -m musig split --data results/world2 --out results/world2_split
python -m musig evaluate --data results/world2_split --out results/world2_results

# The long-tail world shaped like the MPD (frozen seed 2021): its statistics against the MPD's, its
# features table against the sample world's audio, its sampler against exact sampling; timings.
python -m musig generate --profile mpd --playlists 50000 --seed 2021 --out results/longtail
python -m benchmarks.world_report --data results/longtail | tee results/world_report_mpd_50k.txt
python -m benchmarks.feature_calibration --table-world results/longtail \
  | tee results/feature_calibration.txt
python -m benchmarks.mpd_sampler --playlists 50000 --seed 2021 --rows 100 \
  | tee results/mpd_sampler_50k.txt
# Issue #14 on the long-tail world: split, validation runs (benchmarks/results/musig_validation.md),
# the test table of the baselines and the oracle, then the frozen settings of every method.
python -m musig split --data results/longtail --out results/longtail_split --val 1000
python -m benchmarks.design_run --data results/longtail_split/validation --method als \
  --query cos foldin cos+0.01 foldin+0.01 --log results/longtail_design.jsonl
python -m benchmarks.design_run --data results/longtail_split/validation --method content \
  --log results/longtail_design.jsonl
python -m benchmarks.design_run --data results/longtail_split/validation --method musig \
  --set 'graph={"window": 5}' --log results/longtail_design.jsonl
python -m benchmarks.design_run --data results/longtail_split --method musig \
  --set 'graph={"window": 5}' --log results/longtail_test_musig.jsonl  # test, scored once
python -m musig evaluate --data results/longtail_split --out results/longtail \
  --methods popularity als content
# The frozen settings (chosen on validation) scored once on the test split, seed 0: MUSIG and sage
# train 87 and 56 minutes here, side by side on the two cores (MUSIG scores three tasks a step).
python -m musig evaluate --data results/longtail_split --out results/longtail_frozen --jobs 2 \
  --methods popularity als content sage musig --set sage:graph.window=5 --set sage:steps=2400 \
  --set musig:graph.window=5 --set musig:steps=2400 --set als:artist_weight=1.0 \
  --query als=cos+0.1 content=cos+0.2 sage=cos+0.1 musig=cos+0.1
# Seed 1 of the same (MUSIG and sage trained 60 and 47 minutes side by side).
python -m musig evaluate --data results/longtail_split --out results/longtail_frozen_seed1 \
  --jobs 2 --seeds 1 --methods popularity als content sage musig --set sage:graph.window=5 \
  --set sage:steps=2400 --set musig:graph.window=5 --set musig:steps=2400 \
  --set als:artist_weight=1.0 --query als=cos+0.1 content=cos+0.2 sage=cos+0.1 musig=cos+0.1
# DeepWalk and node2vec on validation (reduced settings of the 100k evaluation), then seed 2 of
# the frozen test with them (the seed-2 runs of the line above are reused from its run cache).
for m in deepwalk node2vec; do
  python -m benchmarks.design_run --data results/longtail_split/validation --method $m \
    --set walks_per_node=1 epochs=2 'graph={"window": 5}' --query cos cos+0.1 cos+0.2 \
    --log results/longtail_design.jsonl
done
python -m musig evaluate --data results/longtail_split --out results/longtail_frozen_seed2 \
  --jobs 2 --seeds 2 --methods popularity als deepwalk node2vec content sage musig \
  --set sage:graph.window=5 --set sage:steps=2400 --set musig:graph.window=5 \
  --set musig:steps=2400 --set als:artist_weight=1.0 --set deepwalk:walks_per_node=1 \
  --set deepwalk:epochs=2 --set deepwalk:graph.window=5 --set node2vec:walks_per_node=1 \
  --set node2vec:epochs=2 --set node2vec:graph.window=5 --query als=cos+0.1 \
  deepwalk=cos+0.1 node2vec=cos+0.1 content=cos+0.2 sage=cos+0.1 musig=cos+0.1
/usr/bin/time -v python -m musig generate --profile mpd --playlists 100000 --out results/mpd100k
python -m benchmarks.world_report --data results/mpd100k --stats-only \
  | tee results/world_report_mpd_100k.txt
/usr/bin/time -v python -m musig generate --profile mpd --playlists 1000000 --out results/mpd1m

# Speed.
python -m benchmarks.bench_sampler | tee results/bench_sampler.txt
python -m benchmarks.bench_train --data sample_data | tee results/bench_train.txt

# The app: first starts of a fresh clone and warm steps (headless Chromium).
python benchmarks/bench_app.py --fresh 5 --repeats 3 | tee results/bench_app_fresh.txt

# Scale (by hand, hours; README "At MPD size"): every stage at 100k and 1M playlists, MUSIG's
# memory over its steps under glibc settings (bench_memory runs them as given, not musig's).
python -m benchmarks.bench_scale --playlists 100000 --work results/scale100k
python -m benchmarks.bench_scale --playlists 1000000 --work results/scale1m --no-split \
  --stages load cooc knn als musig folder recommend map folder
for trim in 0 4; do
  python -m benchmarks.bench_memory --data results/scale100k/split --steps 300 --trim "$trim"
done
for env in MALLOC_MMAP_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=1048576 \
  MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_ARENA_MAX=1; do
  env "$env" python -m benchmarks.bench_memory --data results/scale100k/split --steps 300
done
MUSIG_TUNABLES=$(python -c "import musig.heap as h; print(h.TUNABLES)")
for tun in "" glibc.malloc.tcache_count=0 "$MUSIG_TUNABLES"; do
  GLIBC_TUNABLES=$tun python -m benchmarks.bench_memory --data results/scale100k/split \
    --steps 200 --every 50
done
GLIBC_TUNABLES=$MUSIG_TUNABLES py-spy record -r 25 -f raw -o results/prof1m.raw -- \
  python -m benchmarks.bench_memory --data results/scale1m/world --steps 150 --every 25
python -m benchmarks.bench_popularity
python -m benchmarks.bench_optimizer | tee results/bench_optimizer.txt
for threads in 1 2; do
  GLIBC_TUNABLES=$MUSIG_TUNABLES python -m benchmarks.bench_memory \
    --data results/scale100k/split --steps 200 --every 50 --threads "$threads"
done
python -m benchmarks.bench_als --data results/scale100k/split
# MUSIG at 1M: 2,400 steps (the earlier configuration) and the registry's 1,200.
python -m benchmarks.bench_scale --playlists 1000000 --work results/scale1m --no-split \
  --stages musig --set steps=2400
python -m benchmarks.bench_scale --playlists 1000000 --work results/scale1m --no-split \
  --stages musig
# Every method at 100k (README "Quality at 100k"): reduced epochs for the word2vec baselines, the
# large-graph settings for every method that reads the graph.
G=graph.large_entries=5000000
python -m musig evaluate --data results/scale100k/split --out results/eval100k --jobs 2 \
  --set item2vec:epochs=2 --set deepwalk:walks_per_node=1 --set deepwalk:epochs=2 \
  --set deepwalk:$G --set node2vec:walks_per_node=1 --set node2vec:epochs=2 \
  --set node2vec:$G --set sage:$G --set musig:$G
# MUSIG, sage and ALS on a split of the 1M world (README "Quality at 1M"): one run at a time (two
# side by side would not fit in memory), MUSIG and sage on two torch threads; the oracle is added.
/usr/bin/time -v python -m musig split --data results/scale1m/world --out results/scale1m/split \
  --test 10000
/usr/bin/time -v python -m musig evaluate --data results/scale1m/split --out results/eval1m \
  --jobs 1 --methods popularity als sage musig --set sage:num_threads=2 --set musig:num_threads=2
# The app on the 100k workspace (bench_scale's runs, their maps drawn).
python -m musig map --run results/scale100k/run-musig
python -m musig map --run results/scale100k/run-als
python benchmarks/bench_app.py --data results/scale100k/split --home results/app100k \
  --runs results/scale100k/run-musig results/scale100k/run-als --defaults '{"popularity": {}}' \
  --search Bibray --repeats 3 | tee results/bench_app_100k.txt
# Explore alone on the ALS run's map (50,000 points drawn; 100,000 before, side by side in the
# file's second part).
python benchmarks/bench_app.py --data results/scale100k/split --home results/app100k-als \
  --runs results/scale100k/run-als --defaults '{"popularity": {}}' --pages explore \
  --search Bibray --repeats 5 | tee -a results/bench_app_100k.txt
# The whole tour after runner.postScriptGC = false (the file's fourth part: a 60-step MUSIG run,
# twice after; "before" is the same command at commit bdb695f).
python -m benchmarks.bench_scale --playlists 100000 --work results/app100k-gc --stages als musig \
  --set steps=60
python -m musig map --run results/app100k-gc/run-als
python -m musig map --run results/app100k-gc/run-musig
python benchmarks/bench_app.py --data results/app100k-gc/split --home results/app100k-gc/home \
  --runs results/app100k-gc/run-musig results/app100k-gc/run-als --defaults '{"popularity": {}}' \
  --search Bibray --repeats 3 | tee -a results/bench_app_100k.txt
python -m benchmarks.bench_map_draw --run results/scale100k/run-als --data results/scale100k/split \
  --repeats 7 \
  | tee results/bench_map_draw.txt
