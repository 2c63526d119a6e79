"""Loss terms of H2CM's multi-constraint training (docs/model/training.md), on plain JAX arrays.

Each data term compares the model with one observation at monthly means,
in the representation docs/model/training.md prescribes (:data:`TERMS`): monthly
values, monthly anomalies from the time mean (TWS), mean seasonal cycle
(ET, Q, GPP), interannual variability of the area-weighted batch mean (NEE
IAV) or a static per-cell value (mean annual CUE). The monthly and
seasonal-cycle terms can be switched to another of those representations, or
to daily values where daily observations exist (``LossSpec.for_observations(...,
kinds={"q": "daily"})``, :data:`KIND_CHOICES`), e.g. for gauged runoff or
flux-tower ET and NEE. A term is the mean squared
error over the valid (non-NaN) entries, divided by the variance of the
observation in that representation over the training cells
(standardisation); a term with no valid entry in a batch is 0. Two Gaussian
prior penalties, ``((value - mean) / sd)**2``, act on beta_CO2 and Q10.
The total loss is the weighted sum of the active terms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array

from xh2cm.catalog import MONTHLY_OBS, STATIC_OBS
from xh2cm.core.types import (
    CalendarMonths,
    CellValues,
    DailyCells,
    MonthIndex,
    MonthlyCells,
)
from xh2cm.training import aggregate as agg

#: Representation in which a loss term compares model and observation.
TermKind = Literal["monthly", "anomaly", "msc", "iav", "static", "daily"]


@dataclass(frozen=True)
class Term:
    """One data constraint.

    Attributes
    ----------
    name : str
        Term name (key of losses and weights).
    output : str
        Model output compared (a :data:`xh2cm.catalog.OUTPUTS` name).
    obs : str
        Observation it is compared with (key of :attr:`ObsBatch.monthly`, or
        ``"cue"`` for the static CUE field).
    kind : {"monthly", "anomaly", "msc", "iav", "static", "daily"}
        Representation compared (see module docstring).
    """

    name: str
    output: str
    obs: str
    kind: TermKind


#: The data constraints of docs/model/training.md, in a stable order.
TERMS: dict[str, Term] = {
    t.name: t
    for t in [
        Term("tws", "tws", "tws", "anomaly"),
        Term("et", "et", "et", "msc"),
        Term("q", "q", "q", "msc"),
        Term("swe", "swe", "swe", "monthly"),
        Term("fapar", "fapar", "fapar", "monthly"),
        Term("gpp", "gpp", "gpp", "msc"),
        Term("nee", "nee", "nee", "monthly"),
        Term("nee_iav", "nee", "nee", "iav"),
        Term("cue", "cue", "cue", "static"),
    ]
}
#: Representations a term may be switched to, by its default kind (others are fixed).
KIND_CHOICES: dict[str, tuple[TermKind, ...]] = {
    "monthly": ("monthly", "msc", "daily"),
    "msc": ("msc", "monthly", "daily"),
}
#: Prior terms, keyed by the global constant they act on.
PRIOR_TERMS: dict[str, str] = {"prior_beta_co2": "beta_co2", "prior_q10": "q10"}


@dataclass(frozen=True)
class LossWeights:
    """Weight of each loss term (default 1; 0 switches a term off)."""

    tws: float = 1.0
    et: float = 1.0
    q: float = 1.0
    swe: float = 1.0
    fapar: float = 1.0
    gpp: float = 1.0
    nee: float = 1.0
    nee_iav: float = 1.0
    cue: float = 1.0
    prior_beta_co2: float = 1.0
    prior_q10: float = 1.0

    def __getitem__(self, name: str) -> float:
        return float(getattr(self, name))

    def replace(self, **weights: float) -> LossWeights:
        """Copy with some weights changed (unknown names raise ``KeyError``)."""
        known = {f.name for f in fields(self)}
        bad = set(weights) - known
        if bad:
            raise KeyError(f"unknown loss terms {sorted(bad)}; known: {sorted(known)}")
        return LossWeights(**{**{f.name: getattr(self, f.name) for f in fields(self)},
                              **weights})

    @classmethod
    def from_any(cls, weights: LossWeights | Mapping[str, float] | None) -> LossWeights:
        """Accept an instance, a ``{term: weight}`` mapping (others stay 1) or None."""
        if weights is None:
            return cls()
        if isinstance(weights, LossWeights):
            return weights
        return cls().replace(**dict(weights))


@dataclass(frozen=True)
class Prior:
    """Gaussian prior ``N(mean, sd**2)`` on a global constant (physical units)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not self.sd > 0:
            raise ValueError(f"prior sd must be > 0, got {self.sd}")


@dataclass(frozen=True)
class LossSpec:
    """Which terms are active, their weights and the priors (static under ``jit``).

    Build it with :meth:`for_observations`.

    Attributes
    ----------
    terms : tuple of str
        Active data terms (keys of :data:`TERMS`).
    priors : tuple of str
        Active prior terms (keys of :data:`PRIOR_TERMS`).
    weights : LossWeights
    beta_co2_prior, q10_prior : Prior
        docs/model/training.md: beta_CO2 ~ N(0.0015, 0.0005²), Q10 ~ N(1.5, 0.3²).
    kinds : tuple of (str, str)
        Representation overrides ``(term, kind)`` (see :func:`term_kinds`);
        empty: docs/model/training.md's representations.
    """

    terms: tuple[str, ...]
    priors: tuple[str, ...] = ("prior_beta_co2", "prior_q10")
    weights: LossWeights = field(default_factory=LossWeights)
    beta_co2_prior: Prior = Prior(0.0015, 0.0005)
    q10_prior: Prior = Prior(1.5, 0.3)
    kinds: tuple[tuple[str, TermKind], ...] = ()

    @classmethod
    def for_observations(cls, available: Iterable[str],
                         weights: LossWeights | Mapping[str, float] | None = None,
                         priors: bool = True, kinds: Mapping[str, str] | None = None,
                         **kwargs: Prior) -> LossSpec:
        """Terms for the observations ``available`` (e.g. ``{"gpp", "et"}``) with weight > 0.

        Parameters
        ----------
        available : iterable of str
            Observation keys present (:data:`MONTHLY_OBS`, :data:`STATIC_OBS`).
        weights : LossWeights or mapping, optional
            Term weights; a term with weight 0 is dropped.
        priors : bool
            Whether the two prior penalties are used (subject to their weights).
        kinds : mapping, optional
            Representation overrides, e.g. ``{"q": "daily"}`` (see :func:`term_kinds`).
        **kwargs
            ``beta_co2_prior`` / ``q10_prior`` overrides.

        Raises
        ------
        ValueError
            If no term would be active, or for an invalid ``kinds`` entry.
        """
        available = set(available)
        unknown = available - set(MONTHLY_OBS) - set(STATIC_OBS)
        if unknown:
            raise ValueError(f"unknown observations {sorted(unknown)}; known: "
                             f"{list(MONTHLY_OBS) + list(STATIC_OBS)}")
        w = LossWeights.from_any(weights)
        terms = tuple(n for n, t in TERMS.items() if t.obs in available and w[n] > 0)
        pri = tuple(n for n in PRIOR_TERMS if priors and w[n] > 0)
        if not terms:
            raise ValueError(f"no loss term is active: observations {sorted(available)} with "
                             f"weights {w}; give at least one observation with weight > 0")
        over = tuple((n, k) for n, k in term_kinds(kinds).items() if n in terms)
        return cls(terms=terms, priors=pri, weights=w, kinds=over, **kwargs)

    def term(self, name: str) -> Term:
        """The term ``name`` in the representation this spec compares it in."""
        kind = dict(self.kinds).get(name)
        return TERMS[name] if kind is None else dataclasses.replace(TERMS[name], kind=kind)

    @property
    def daily_obs(self) -> tuple[str, ...]:
        """Observation keys that active terms compare at daily resolution."""
        return daily_observations(dict(self.kinds))

    @property
    def names(self) -> tuple[str, ...]:
        """All active term names (data then priors)."""
        return self.terms + self.priors

    @property
    def outputs(self) -> tuple[str, ...]:
        """Model outputs the active terms need."""
        need = {self.term(t).output for t in self.terms}
        if "cue" in self.terms:
            need |= {"npp", "gpp"}
        return tuple(sorted(need))

    def prior(self, constant: str) -> Prior:
        """The prior of a global constant (``"beta_co2"`` or ``"q10"``)."""
        return {"beta_co2": self.beta_co2_prior, "q10": self.q10_prior}[constant]


def term_kinds(kinds: Mapping[str, str] | None) -> dict[str, TermKind]:
    """Validate representation overrides ``{term: kind}``.

    Only the monthly and mean-seasonal-cycle terms can change representation
    (:data:`KIND_CHOICES`); ``"daily"`` compares daily model values with daily
    observations on the days they exist (the observation must then be daily
    or finer).

    Raises
    ------
    ValueError
        For an unknown term, a term whose representation is fixed, or a kind
        not allowed for the term.
    """
    out: dict[str, TermKind] = {}
    for name, kind in dict(kinds or {}).items():
        if name not in TERMS:
            raise ValueError(f"kinds: unknown loss term {name!r}; known: {list(TERMS)}")
        choices = KIND_CHOICES.get(TERMS[name].kind)
        if choices is None:
            changeable = [n for n, t in TERMS.items() if t.kind in KIND_CHOICES]
            raise ValueError(f"kinds: the representation of term {name!r} is fixed "
                             f"({TERMS[name].kind!r}); only {changeable} can change")
        if kind not in choices:
            raise ValueError(f"kinds: term {name!r} cannot be compared as {kind!r}; "
                             f"choose one of {list(choices)}")
        out[name] = kind
    return out


def daily_observations(kinds: Mapping[str, str]) -> tuple[str, ...]:
    """Observation keys that the validated overrides ``kinds`` (:func:`term_kinds`)
    compare at daily resolution, in the order given."""
    return tuple(dict.fromkeys(TERMS[n].obs for n, k in kinds.items() if k == "daily"))


class ObsBatch(NamedTuple):
    """Observations and calendar of a batch of cells (a pytree of arrays).

    Attributes
    ----------
    month_index : Array
        ``(time,)`` int32: month of each forcing day, in ``[0, n_months)``.
    calendar_month : Array
        ``(n_months,)`` int32: calendar month (0–11) of each month.
    monthly : dict of str to Array
        Monthly observations ``(n_months, cell)`` in model units, NaN = missing.
    cue : Array or None
        Static mean annual CUE observation ``(cell,)``, NaN = missing.
    area : Array
        ``(cell,)`` area weights for the NEE IAV term.
    cell_weight : Array
        ``(cell,)``: 1 for real cells, 0 for padding (excluded from every term).
    daily : dict of str to Array
        Daily observations ``(time, cell)`` in model units, NaN = missing, for
        the terms compared daily (empty otherwise).
    """

    month_index: MonthIndex
    calendar_month: CalendarMonths
    monthly: dict[str, MonthlyCells]
    cue: CellValues | None
    area: CellValues
    cell_weight: CellValues
    daily: dict[str, DailyCells] = {}  # shared default, never mutated


def _compared(term: Term, model: Array | None, obs: ObsBatch) -> tuple[Array | None, Array,
                                                                       Array]:
    """``(model, obs, valid)`` of one term in its compared representation.

    ``model`` is the monthly model series ``(month, cell)`` (daily
    ``(time, cell)`` for a daily term, the static model CUE ``(cell,)`` for
    CUE), or None to transform the observation only.
    """
    real = obs.cell_weight > 0
    if term.kind in ("static", "daily"):  # compared value by value
        o = obs.daily[term.obs] if term.kind == "daily" else obs.cue
        if o is None:
            raise ValueError(f"loss term {term.name!r} needs a static CUE observation")
        v = jnp.isfinite(o) & jnp.broadcast_to(real, o.shape)
        return (None if model is None else agg.masked(model, v)), agg.masked(o, v), v
    o = obs.monthly[term.obs]
    v = jnp.isfinite(o) & real[None, :]
    o = agg.masked(o, v)
    cal = obs.calendar_month
    if term.kind == "monthly":
        f = agg.masked
    elif term.kind == "anomaly":
        f = agg.time_anomaly
    elif term.kind == "msc":
        m_o, v_o = agg.seasonal_cycle(o, v, cal)
        m_m = None if model is None else agg.seasonal_cycle(model, v, cal)[0]
        return (None if m_m is None else agg.masked(m_m, v_o)), m_o, v_o
    elif term.kind == "iav":
        w = obs.area * obs.cell_weight
        s_o, v_s = agg.weighted_cell_mean(agg.anomalies(o, v, cal), v, w)
        s_m = None if model is None else agg.weighted_cell_mean(
            agg.anomalies(model, v, cal), v, w)[0]
        return s_m, s_o, v_s
    else:  # pragma: no cover - TERMS is fixed
        raise ValueError(f"unknown term kind {term.kind!r}")
    return (None if model is None else f(model, v)), f(o, v), v


def model_cue(outputs: Mapping[str, Array]) -> Array:
    """Mean annual CUE per cell: ``sum(npp) / sum(gpp)`` over the run ``(cell,)``."""
    gpp = jnp.sum(outputs["gpp"], axis=0)
    return jnp.sum(outputs["npp"], axis=0) / jnp.where(jnp.abs(gpp) > 1e-6, gpp, 1e-6)


def loss_terms(outputs: Mapping[str, Array], obs: ObsBatch, spec: LossSpec,
               scales: Mapping[str, Array]) -> dict[str, Array]:
    """Every active loss term (unweighted), as scalars.

    Parameters
    ----------
    outputs : mapping of str to Array
        Model outputs (daily ``(time, cell)``, global constants ``()``).
    obs : ObsBatch
        Observations of the same cells.
    spec : LossSpec
        Active terms and priors.
    scales : mapping of str to Array
        Standard deviation of each data term's observation (see
        :func:`observation_scales`).

    Returns
    -------
    dict of str to Array
        ``term -> scalar``, in ``spec.names`` order.
    """
    n_months = obs.calendar_month.shape[0]
    monthly: dict[str, Array] = {}
    out = {}
    for name in spec.terms:
        term = spec.term(name)
        if term.kind == "static":
            model = model_cue(outputs)
        elif term.kind == "daily":
            model = outputs[term.output]
        else:
            if term.output not in monthly:
                monthly[term.output] = agg.monthly_means(outputs[term.output], obs.month_index,
                                                         n_months)
            model = monthly[term.output]
        m, o, v = _compared(term, model, obs)
        assert m is not None  # a model series was given
        sq = agg.masked(((m - o) / scales[name]) ** 2, v)
        out[name] = jnp.sum(sq) / jnp.maximum(jnp.sum(v), 1)
    for name in spec.priors:
        const = PRIOR_TERMS[name]
        p = spec.prior(const)
        out[name] = ((outputs[const] - p.mean) / p.sd) ** 2
    return out


def total_loss(terms: Mapping[str, Array], spec: LossSpec) -> Array:
    """Weighted sum of the loss terms."""
    return sum((spec.weights[n] * terms[n] for n in spec.names), jnp.zeros(()))


def observation_scales(obs: ObsBatch, spec: LossSpec) -> dict[str, float]:
    """Standard deviation of each active term's observation over the given cells.

    Call it with the training cells: it is the standardisation of docs/model/training.md
    ("each term standardised by the observation's mean/std"; the mean cancels
    in a squared difference). A zero or undefined spread becomes 1.
    """
    out = {}
    for name in spec.terms:
        _, o, v = _compared(spec.term(name), None, obs)
        o_np, v_np = np.asarray(o, np.float64), np.asarray(v, bool)
        sd = float(np.std(o_np[v_np])) if v_np.any() else float("nan")
        out[name] = sd if np.isfinite(sd) and sd > 1e-12 else 1.0
    return out
