# bench_util.sh: shell helpers shared by the bench scripts (sourced, not run).

# med V...: the median of the numbers given (the lower middle one for an even count).
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# json_num KEY LINE: the number stored under KEY in a one-line JSON object.
json_num() { echo "$2" | sed "s/.*\"$1\": *\([0-9.]*\).*/\1/"; }

# bench_what WHAT: sets `args` (bench flags) and `key` (the JSON key of the result) for one of
# pp (prompt processing, 128 tokens), tg (decoding, 32 tokens) or b16 (decoding 16 sequences at
# once, 8 tokens each); returns 1 for anything else.
bench_what() {
  case $1 in
    pp) args=(-p 128 -n 0) key=prompt_tokens_per_s ;;
    tg) args=(-p 0 -n 32) key=gen_tokens_per_s ;;
    b16) args=(-p 0 -n 8 --batch 16) key=gen_tokens_per_s ;;
    *) return 1 ;;
  esac
}

# ratio A B: A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
