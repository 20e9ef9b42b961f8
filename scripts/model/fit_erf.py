"""Fits the erf pieces of src/core/simd.h and prints their float32 accuracy.

    .venv/bin/python scripts/model/fit_erf.py

|x| < 1:        erf(x) = x P(x^2), P of degree 5
1 <= |x| < 3.92: erf(x) = 1 - exp(-x^2 + Q(x - 2.46)), Q of degree 8 (no division)
(beyond 3.92 erf rounds to +-1 in float32). Both by Lawson's iteration (weighted least
squares converging to minimax): the relative error of erf(x)/x, and of erfc(x) through
log(erfcx(x)) = Q. The float32 check evaluates the pieces exactly as simd.h does (Horner,
no FMA) and compares with scipy's erf in float64.
"""
import numpy as np
from scipy.special import erf, erfc, erfcx

SPLIT, CLAMP, CENTRE = 1.0, 3.92, 2.46


def lawson(v, g, iters=80):
    w = np.ones(len(g))
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(v * w[:, None], g * w, rcond=None)
        err = v @ c - g
        w = w * np.abs(err) ** 0.5 + 1e-300
        w /= w.max()
    return c


def horner(coefs, x):
    r = np.float32(coefs[-1])
    for k in coefs[-2::-1]:
        r = (r * x + np.float32(k)).astype(np.float32)
    return r


def erf32(x, p, q):
    x = x.astype(np.float32)
    ax = np.minimum(np.abs(x), np.float32(CLAMP))
    z = (ax * ax).astype(np.float32)
    small = (ax * horner(p, z)).astype(np.float32)
    t = (np.maximum(ax, np.float32(SPLIT)) - np.float32(CENTRE)).astype(np.float32)
    e = np.exp((horner(q, t) - z).astype(np.float32)).astype(np.float32)
    large = (np.float32(1) - e).astype(np.float32)
    return np.copysign(np.where(ax < np.float32(SPLIT), small, large), x)


def main():
    x = np.linspace(1e-9, SPLIT, 100001)
    p = lawson(np.vander(x * x, 6, increasing=True), erf(x) / x)
    x = np.linspace(SPLIT, CLAMP, 100001)
    q = lawson(np.vander(x - CENTRE, 9, increasing=True), np.log(erfcx(x)))
    print("P (x^2, low to high):", ", ".join(f"{np.float32(c):.8e}" for c in p))
    print("Q (x - 2.46, low to high):", ", ".join(f"{np.float32(c):.8e}" for c in q))
    xs = np.linspace(-6, 6, 2400001).astype(np.float32)
    got, want = erf32(xs, p, q), erf(xs.astype(np.float64))
    err = np.abs(got - want)
    ulp = err / np.spacing(np.abs(want).astype(np.float32) + np.float32(1e-30))
    print(f"erf float32: max abs error {err.max():.2e}, max {ulp.max():.2f} ulp")
    xs = np.linspace(-12, 12, 2400001).astype(np.float32)
    g = (xs * (np.float32(0.5) + np.float32(0.5) * erf32(xs * np.float32(0.70710678118654752), p, q)))
    gw = 0.5 * xs.astype(np.float64) * erfc(-xs.astype(np.float64) / np.sqrt(2))
    print(f"GELU float32: max |error| / max(1, |x|) {np.max(np.abs(g - gw) / np.maximum(1, np.abs(xs))):.2e}")


if __name__ == "__main__":
    main()
