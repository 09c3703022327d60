# Time of each path relative to vm-memory (1 = as fast as vm-memory), per
# access size. Called by report.sh with dat= and png= set.
set terminal pngcairo size 1400,1200 font ",10"
set output png
set datafile missing "?"
set logscale xy
set xtics ("8" 8, "64" 64, "512" 512, "4K" 4096, "64K" 65536, "1M" 1048576)
set xrange [5:1.6e6]
set grid
set yrange [0.03:30]
set key top right horizontal maxrows 2 font ",9"
set xlabel "access size (bytes)"
set ylabel "time / vm-memory time"
set multiplot layout 3,2 title "vmmem vs vm-memory 0.10 and memcpy, QEMU TCG, median of the samples (lower is faster)"
titles = "cold-read cold-write hot-read hot-write boundary-read boundary-write"
do for [i=0:5] {
	set title word(titles, i + 1)
	plot dat index i using 1:2 with linespoints lw 2 title "memcpy floor", \
	     '' index i using 1:3 with linespoints dt 3 title "rep movsq floor", \
	     '' index i using 1:4 with linespoints title "vmmem ioctl", \
	     '' index i using 1:5 with linespoints title "vmmem batch64", \
	     '' index i using 1:6 with linespoints title "vmmem direct (libvmmem)", \
	     '' index i using 1:7 with linespoints title "vmmem direct, module pages", \
	     '' index i using 1:8 with linespoints title "vmmem mmap", \
	     1 with lines dt 2 lc "black" title "vm-memory"
}
unset multiplot
