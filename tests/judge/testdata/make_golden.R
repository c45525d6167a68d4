# Golden data for the judge's R parity test (tests/judge/r_parity_test.cc).
#
# R's asymptotic Wilcoxon rank-sum interval, the one Kayenta ports:
#   wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE, conf.level = conf)
# on random pairs of five kinds (normal, lognormal, heavy ties, zero-inflated, very different
# lengths). Values are rounded to 6 significant digits so that the text written here is exactly
# the double R used. Cases where R stops ("all observations are tied") are kept with error = true.
#
# Regenerate (Debian: apt-get install r-base-core; not needed to build or test):
#   Rscript tests/judge/testdata/make_golden.R > tests/judge/testdata/r_parity.json

set.seed(20260406)
num <- function(v) paste(sprintf("%.15g", v), collapse = ",")
kinds <- c("normal", "lognormal", "heavy_ties", "zero_inflated", "different_lengths")
confs <- c(0.90, 0.95, 0.98, 0.99)
draw <- function(kind) {
  nx <- sample(5:120, 1); ny <- sample(5:120, 1)
  shift <- sample(c(0, 0, 0.1, 0.5, 2), 1)
  switch(kind,
    normal = list(x = rnorm(nx, 10 + shift, 2), y = rnorm(ny, 10, 2)),
    lognormal = list(x = rlnorm(nx, log(50) + shift / 4, 0.6), y = rlnorm(ny, log(50), 0.6)),
    heavy_ties = list(x = sample(0:4, nx, TRUE) + round(shift), y = sample(0:4, ny, TRUE)),
    zero_inflated = list(
      x = ifelse(runif(nx) < 0.7, 0, rexp(nx, 1 / (1 + shift))),
      y = ifelse(runif(ny) < 0.7, 0, rexp(ny, 1))),
    different_lengths = {
      a <- sample(c(5, 8, 12), 1); b <- sample(c(150, 200, 300), 1)
      if (runif(1) < 0.5) { t <- a; a <- b; b <- t }
      list(x = rgamma(a, 2, 0.1) + shift, y = rgamma(b, 2, 0.1))
    })
}
cat(sprintf('{"generator": "make_golden.R", "R": "%s", "cases": [\n', R.version.string))
first <- TRUE
# Two hand-made cases where every observation ties at a root bracket end (R stops, Kayenta throws).
specials <- list(list(x = c(1, 1, 1), y = c(1, 1)), list(x = c(0, 0, 0), y = c(5)))
for (i in 1:(300 + length(specials))) {
  kind <- if (i > 300) "all_tied" else kinds[(i - 1) %% length(kinds) + 1]
  conf <- confs[(i - 1) %/% length(kinds) %% length(confs) + 1]
  d <- if (i > 300) specials[[i - 300]] else draw(kind)
  x <- signif(d$x, 6); y <- signif(d$y, 6)
  r <- tryCatch(suppressWarnings(
         wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE, conf.level = conf)),
       error = function(e) NULL)
  body <- if (is.null(r)) '"error": true' else
    sprintf('"error": false, "ci": [%s], "p_value": %s, "r_estimate": %s',
            num(r$conf.int), num(r$p.value), num(r$estimate))
  cat(if (first) "" else ",\n",
      sprintf('{"kind": "%s", "conf": %s, "x": [%s], "y": [%s], %s}', kind, num(conf), num(x),
              num(y), body), sep = "")
  first <- FALSE
}
cat("\n],\n")
# qnorm (AS241 in R) on a grid and at random points, for NormalQuantile.
ps <- c(1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.01, (1 - 0.98) / 2, (1 - 0.95) / 2, 0.05,
        0.074, 0.075, 0.076, 0.1, 0.2, 0.3, 0.4, 0.425, 0.45, 0.5, 0.55, 0.575, 0.6, 0.75, 0.9,
        0.925, 0.95, 0.975, 0.99, 0.999, 1 - 1e-10, runif(200))
cat(sprintf('"qnorm": [%s]}\n', paste(sprintf("[%.17g,%.17g]", ps, qnorm(ps)), collapse = ",")))
