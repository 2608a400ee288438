#!/usr/bin/env bash
# The ownership watermark's robustness table on the full MNIST (not run in CI; docs/watermark.md).
# The mlp preset (LeNet-300-100) trained with the triggers of a fresh key in every batch (100
# triggers, 10% of each batch of 128), and the same recipe without them (the clean-accuracy
# cost, and the independent model that must not test as watermarked); 5,000 training images
# are held out for validation and choose each run's kept epoch. Then the watermarked model's
# siblings and attacks on it, each started from its kept checkpoint and trained on clean data
# only (Adam 1e-3, cosine): fine-tuning for 1 and 5 epochs (the last epoch's weights), one-shot
# magnitude pruning to 50%, 90% and 99% (one threshold across layers) and 8x8 block pruning of
# 90% of the blocks (of the hidden layer, aer's default, and of every layer), each with 1 epoch
# of fine-tuning under the mask, TWN ternary training for 1 epoch then packing into 2-bit
# codes, and 1 epoch of PGD adversarial training (eps 0.1, 7 steps of 0.036, random start). Every model is checked with the owner's key and,
# as a second false-positive check, with another fresh key. Resumable: rerun to continue.
#   DATA=dir-or-name (default ../shared/data/mnist), AER=a built aer, OUT (default
#   runs/watermark), FIG (default assets/figures/watermark), EPOCHS (default 8)
source "$(dirname "$0")/common.sh" runs/watermark
FIG=${FIG:-assets/figures/watermark}
EPOCHS=${EPOCHS:-8}
common=(--model mlp --data "$DATA" --val-size 5000 --optimizer adam --lr 1e-3 --seed 0 --resume)
mkdir -p "$OUT/verify" "$FIG/verify"

# Keys: the owner's, and another that was never trained in.
[[ -f "$OUT/owner.key" ]] || $AER watermark keygen --key "$OUT/owner.key"
[[ -f "$OUT/other.key" ]] || $AER watermark keygen --key "$OUT/other.key"

# 1. The watermarked model and the same recipe without the watermark.
$AER watermark embed --key "$OUT/owner.key" --triggers 100 --share 0.1 --epochs "$EPOCHS" "${common[@]}" --out "$OUT/watermarked"
$AER train --epochs "$EPOCHS" "${common[@]}" --out "$OUT/independent"
WM=$OUT/watermarked/best.safetensors

# 2. Siblings and removal attempts, each from the watermarked model, on clean data.
$AER train --epochs 1 "${common[@]}" --init "$WM" --out "$OUT/finetune-1"
$AER train --epochs 5 "${common[@]}" --init "$WM" --out "$OUT/finetune-5"
for s in 0.5 0.9 0.99; do
  $AER train --epochs 1 "${common[@]}" --init "$WM" --prune-sparsity "$s" --out "$OUT/prune-$s"
done
$AER train --epochs 1 "${common[@]}" --init "$WM" --block-sparsity 0.9 --block 8 --out "$OUT/block-0.9-hidden"
$AER train --epochs 1 "${common[@]}" --init "$WM" --block-sparsity 0.9 --block 8 --block-all-layers --out "$OUT/block-0.9"
$AER train --epochs 1 "${common[@]}" --init "$WM" --quant twn --out "$OUT/twn"
[[ -f "$OUT/twn/best-packed.safetensors" ]] || $AER quantize --data "$DATA" --checkpoint "$OUT/twn/best.safetensors"
$AER train --epochs 1 "${common[@]}" --init "$WM" --adv pgd --adv-eps 0.1 --adv-steps 7 --adv-step 0.036 --out "$OUT/pgd-at"

# 3. Every model through its predictions: the owner's key (with the embedding's record, which
#    refuses a model of other inputs or classes) and the other key.
rows=(
  "watermarked|$WM"
  "independent (no watermark)|$OUT/independent/best.safetensors"
  "fine-tuned 1 epoch|$OUT/finetune-1/last.safetensors"
  "fine-tuned 5 epochs|$OUT/finetune-5/last.safetensors"
  "magnitude-pruned 50% + 1 epoch|$OUT/prune-0.5/last.safetensors"
  "magnitude-pruned 90% + 1 epoch|$OUT/prune-0.9/last.safetensors"
  "magnitude-pruned 99% + 1 epoch|$OUT/prune-0.99/last.safetensors"
  "block-pruned 90% (8x8, hidden layer) + 1 epoch|$OUT/block-0.9-hidden/last.safetensors"
  "block-pruned 90% (8x8, every layer) + 1 epoch|$OUT/block-0.9/last.safetensors"
  "TWN ternary, packed|$OUT/twn/best-packed.safetensors"
  "PGD adversarial fine-tuning 1 epoch|$OUT/pgd-at/last.safetensors"
)
files=()
for i in "${!rows[@]}"; do
  name=${rows[$i]%%|*} ck=${rows[$i]#*|}
  slug=$(basename "$(dirname "$ck")")-$(basename "$ck" .safetensors)
  # Each key's results in a directory of their own: <checkpoint name>-watermark.json in it.
  result=$(basename "$ck" .safetensors)-watermark.json
  v=$OUT/verify/$slug/$result o=$OUT/verify/$slug-other-key/$result
  [[ -f "$v" ]] || $AER watermark verify --key "$OUT/owner.key" --record "$OUT/watermarked/watermark.json" --checkpoint "$ck" --data "$DATA" --out "$(dirname "$v")"
  [[ -f "$o" ]] || $AER watermark verify --key "$OUT/other.key" --checkpoint "$ck" --out "$(dirname "$o")"
  jq --arg name "$name" --slurpfile other "$o" '{model: $name, checkpoint, adapter, test_accuracy, watermark, other_key: $other[0].watermark}' "$v" > "$FIG/verify/$i.json"
  files+=("$FIG/verify/$i.json")
done

# 4. The table: JSON, and Markdown with the clean-accuracy cost of embedding.
jq -s --arg data "$DATA" --argjson epochs "$EPOCHS" --slurpfile rec "$OUT/watermarked/watermark.json" \
  '{data: $data, model: "mlp", epochs: $epochs, record: $rec[0], adapter: (.[0].adapter // null), rows: .}' "${files[@]}" > "$FIG/robustness.json"
adapter=$(jq -r '.adapter' "${files[0]}")
jq -s -r --arg adapter "$adapter" '
  def pct: (. * 1000 | round) / 10 | tostring + "%";
  def pct2: (. * 10000 | round) / 100 | tostring + "%";
  def p: if .log10_p_value > -4 then (.p_value * 10000 | round / 10000 | tostring)
    else (.log10_p_value | floor) as $e | (pow(10; .log10_p_value - $e) * 10 | round / 10 | tostring) + "e" + ($e | tostring) end;
  "| model | test accuracy | trigger match (owner key) | p-value | watermarked at p < 1e-6 | match / p with another key |",
  "|---|---:|---:|---:|:-:|---:|",
  (.[] | "| \(.model) | \(.test_accuracy | pct2) | \(.watermark.matches)/\(.watermark.triggers) (\(.watermark.match_rate | pct)) | \(.watermark | p) | \(if .watermark.watermarked then "yes" else "no" end) | \(.other_key.match_rate | pct) / \(.other_key | p) |"),
  "",
  "Chance rate 1/C = \(.[0].watermark.chance | pct); p-values are exact binomial tails (robustness.json holds log10 p).",
  "Clean-accuracy cost of embedding (test accuracy without the watermark minus with it): \(((.[1].test_accuracy - .[0].test_accuracy) * 10000 | round) / 100) percentage points (\(.[0].test_accuracy | pct2) watermarked vs \(.[1].test_accuracy | pct2) without).",
  "Adapter: \($adapter)."' "${files[@]}" > "$FIG/robustness.md"
cat "$FIG/robustness.md"
