# Latency plot of `make bench`: p50, p99 and p99.9 per case, log scale.
# scripts/bench.sh calls: gnuplot -e "datafile='...'; outfile='...'; title='...'" bench/plot.gp
# datafile columns: case p50_ms p99_ms p999_ms
set terminal png size 1200,600 font ",10" noenhanced
set output outfile
set title title
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set ylabel "latency, ms (log scale)"
set grid ytics
set xtics rotate by -30
set key top left
plot datafile using 2:xtic(1) title "p50", '' using 3 title "p99", '' using 4 title "p99.9"
