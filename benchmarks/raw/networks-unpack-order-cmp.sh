#!/bin/bash
# usage: cmp.sh OLD NEW threads models...
old=$1 new=$2 t=$3; shift 3
for m in "$@"; do
  for r in 1 2 3; do
    for b in old new; do
      bin=$old; [ $b = new ] && bin=$new
      for db in none /tmp/nets/tuned.jsonl; do
        ms=$($bin run --model /tmp/convtune-networks/${m}_1x3x224x224_bnrand.onnx --threads $t --db $db --repeat 5 --min-repeat-ms 200 --json 2>/dev/null | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print(j['median_ms'], j['ok'])")
        echo "$m t$t $b db=$(basename $db) round$r $ms"
      done
    done
  done
done
