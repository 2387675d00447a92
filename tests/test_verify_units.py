"""Units through pint, and significant figures (issue 11, items 3 and 4).

The table holds the issue's unit probes and their near misses. Precision first: every ``False``
row is a reward hack if accepted, so the table must have zero false positives; the ``True`` rows
are answers a physics grader accepts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from rlvr.cli import main
from rlvr.config import ConfigError, from_dict
from rlvr.data import DatasetConfig, Problem
from rlvr.data.load import load_problems
from rlvr.errors import RlvrError
from rlvr.verifiers import VerifyRequest, verify, verify_inline
from rlvr.verifiers.numeric import round_sig
from rlvr.verifiers.quantity import parse_unit, ureg

Case = tuple[str, str, dict, bool]

UNITS: list[Case] = [
    # every SI prefix on every unit
    (r"\boxed{5 dam}", "50 m", {}, True),  # deka
    (r"\boxed{3 dam}", "3 m", {}, False),
    (r"\boxed{5 dag}", "50 g", {}, True),
    (r"\boxed{3 m\Omega}", r"0.003 \Omega", {}, True),  # milli-ohm
    (r"\boxed{3 mΩ}", "0.003 ohm", {}, True),
    (r"\boxed{3 mΩ}", r"3 \Omega", {}, False),
    (r"\boxed{2 kN}", "2000 N", {}, True),
    (r"\boxed{2 GPa}", "2e9 Pa", {}, True),
    (r"\boxed{2 MPa}", "2e9 Pa", {}, False),
    (r"\boxed{5 µs}", "5e-6 s", {}, True),
    (r"\boxed{5 \mu s}", "5e-6 s", {}, True),
    (r"\boxed{5 ms}", "5e-6 s", {}, False),
    (r"\boxed{500 nm}", "5e-7 m", {}, True),
    # dioptres (pint alone reads dpt as deci-pint and D as debye)
    (r"\boxed{45^\circ}", "45", {"unit": "rad"}, False),  # the key's unit in its own field
    (r"\boxed{45^\circ}", "45", {"unit": "degree"}, True),
    (r"\boxed{2 D}", "2 dioptre", {}, True),
    (r"\boxed{2 dpt}", "2 m^{-1}", {}, True),
    (r"\boxed{2 diopters}", "2 D", {}, True),
    (r"\boxed{2 D}", "0.5 m", {}, False),
    (r"\boxed{50 cm}", "2 D", {}, False),
    (r"\boxed{2D}", "2D", {}, True),  # a math key: D is a unit only apart from its number
    # derived units compared by value
    (r"\boxed{10 W}", "10 J/s", {}, True),
    (r"\boxed{10 W}", "10 Pa·m^3/s", {}, True),
    (r"\boxed{10 Pa·m³/s}", "10 W", {}, True),
    (r"\boxed{10 Pa \cdot m^3/s}", "10 W", {}, True),
    (r"\boxed{10 \mathrm{Pa\,m^3\,s^{-1}}}", "10 W", {}, True),
    (r"\boxed{10 N·m}", "10 J", {}, True),
    (r"\boxed{10 W}", "10 J", {}, False),
    (r"\boxed{10 kW}", "10 W", {}, False),
    # imperial against SI keys, under the key's tolerance
    (r"\boxed{22 lb}", "10 kg", {"rel_tol": 0.02}, True),
    (r"\boxed{22 lbs}", "10 kg", {"rel_tol": 0.02}, True),
    (r"\boxed{22 lbs}", "10 kg", {"rel_tol": 0.001}, False),
    (r"\boxed{22.05 lbs}", "10 kg", {}, True),
    (r"\boxed{10 lbs}", "10 kg", {}, False),
    (r"\boxed{32.8 ft}", "10 m", {}, True),
    (r"\boxed{39.37 in}", "1 m", {}, True),
    (r"\boxed{6.214 mi}", "10 km", {}, True),
    (r"\boxed{22.37 mph}", "10 m/s", {}, True),
    (r"\boxed{10 mph}", "10 m/s", {}, False),
    # offset temperatures
    (r"\boxed{212 °F}", "100 °C", {}, True),
    (r"\boxed{212 ^\circ F}", "373.15 K", {}, True),
    (r"\boxed{50 °F}", "10 °C", {}, True),
    (r"\boxed{10 °C}", "50 °F", {}, True),
    (r"\boxed{100 °F}", "100 °C", {}, False),
    (r"\boxed{10 K}", "10 °C", {}, False),
    # angles: degree <-> radian; a wrong angle unit is always wrong
    (r"\boxed{\frac{\pi}{4} rad}", "45°", {}, True),
    (r"\boxed{45^\circ}", r"\frac{\pi}{4} rad", {}, True),
    (r"\boxed{0.785 rad}", r"45^\circ", {}, True),
    (r"\boxed{45}", "45", {"unit": "°"}, True),
    (r"\boxed{45 rad}", "45°", {}, False),
    (r"\boxed{45 \text{ rad}}", r"45^\circ", {}, False),
    (r"\boxed{45 rad}", "45", {"unit": "°"}, False),
    (r"\boxed{\frac{\pi}{4}}", "45°", {}, False),  # a bare number is read in the key's unit
    (r"\boxed{45 sr}", "45°", {}, False),
    (r"\boxed{2 \pi rad/s}", "1 Hz", {}, False),
    (r"\boxed{60 rpm}", "6.283 rad/s", {}, True),
    (r"\boxed{5 Hz}", "5 rad/s", {}, False),  # 5 Hz is 31.4 rad/s: an angle unit on one side only is wrong
    (r"\boxed{45}", "45 electrons", {}, True),
    (r"\boxed{45 rad}", "45 electrons", {}, False),  # pint alone counts radians as dimensionless
    # LaTeX unit forms
    (r"\boxed{9.8 \mathrm{m/s^2}}", "9.8 m/s^2", {}, True),
    (r"\boxed{9.8 \text{ m s}^{-2}}", "9.8 m/s^2", {}, True),
    (r"\boxed{3 \frac{kg}{s}}", "3 kg/s", {}, True),
    (r"\boxed{3 \frac{\frac{J}{kg}}{K}}", r"3 J kg^{-1} K^{-1}", {}, True),
    (r"\boxed{3 \,\mathrm{kg\,m^2}}", "3 kg m^2", {}, True),
    (r"\boxed{3\ \mathrm{m\,s^{-1}}}", "3 m/s", {}, True),
    (r"\boxed{9.8 \text{ m/s}^2 \text{ downward}}", "9.8 m/s^2", {}, True),
    (r"\boxed{\SI{3}{\micro\coulomb}}", "3e-6 C", {}, True),  # siunitx
    (r"\boxed{\SI{2}{\kilo\gram}}", "2000 g", {}, True),
    (r"\boxed{\SI{2}{\kilo\gram}}", "2 g", {}, False),
    (r"\boxed{\qty{9.8}{\meter\per\second\squared}}", "980 cm/s^2", {}, True),
    (r"\boxed{\qty{9.8}{\meter\per\second}}", "9.8 m/s^2", {}, False),
    (r"\boxed{2 \si{\square\meter}}", "20000 cm^2", {}, True),
    (r"\boxed{3.0 × 10⁸ m·s⁻¹}", "3e8 m/s", {}, True),
    (r"\boxed{2.5 kWh}", "9 MJ", {}, True),
    (r"\boxed{1 rev}", "360°", {}, True),
    # CJK unit names, glued to the number
    ("4000千克", "4 t", {}, True),
    ("4000千克", "4000 kg", {}, True),
    (r"\boxed{4000千克}", "4000 kg", {}, True),
    (r"\boxed{4000克}", "4 kg", {}, True),
    (r"\boxed{4000克}", "4000 kg", {}, False),
    (r"\boxed{5米}", "5 m", {}, True),
    (r"\boxed{5厘米}", "0.05 m", {}, True),
    (r"\boxed{5厘米}", "5 m", {}, False),
    (r"\boxed{5秒}", "5 s", {}, True),
    (r"\boxed{5牛}", "5 N", {}, True),
    (r"\boxed{5焦}", "5 J", {}, True),
    (r"\boxed{5瓦}", "5 W", {}, True),
    (r"\boxed{5瓦}", "5 J", {}, False),
    (r"\boxed{10米每秒}", "36 km/h", {}, True),
    (r"\boxed{2平方米}", "20000 cm^2", {}, True),
    ("物体的质量是4000千克的", "4 t", {}, True),
    (r"\boxed{4 t}", "4000千克", {}, True),  # a key in Chinese units
    (r"\boxed{4 kg}", "4000千克", {}, False),
    (r"\boxed{4 t}", "4000 kg", {}, True),
    (r"\boxed{4t}", "4000 kg", {}, False),  # 4t is a math answer in t, not four tonnes
    (r"\boxed{4t}", "4t", {}, True),
    # a dimension mismatch or an unknown unit word is always wrong
    (r"\boxed{9.8 \frac{kg}{s}}", "9.8 m/s^2", {}, False),
    (r"\boxed{9.8 foo}", "9.8 m/s^2", {}, False),
    ("9.8 foo", "9.8 m/s^2", {}, False),
    ("The answer is 9.8 foo", "9.8 m/s^2", {}, False),
    (r"The answer is 9.8 \mathrm{foo}", "9.8 m/s^2", {}, False),
    (r"\boxed{9.8 foo}", "9.8", {"unit": "m/s^2"}, False),
    (r"\boxed{36 apples}", "36 m/s", {}, False),
    (r"\boxed{9.8 kg}", "9.8", {"unit": "m/s^2"}, False),
    # a list with one extra element, a hedge between quantities: never their last item
    (r"\boxed{45^\circ, 90^\circ}", r"90^\circ", {}, False),
    (r"\boxed{45°, 90°}", "90°", {}, False),
    (r"\boxed{3 m/s, 5 m/s}", "5 m/s", {}, False),
    (r"\boxed{3 m or 5 m}", "5 m", {}, False),
    (r"\boxed{x = 45°, y = 90°}", "90°", {}, False),
    (
        r"\begin{aligned} r &= 2.68 \times 10^{12} \mathrm{~m}(1-0.967) = 8.8 \times 10^{10} \mathrm{~m} \end{aligned}",
        r"8.8 \times 10^{10}",
        {"unit": "m", "rel_tol": 0.05},
        True,
    ),  # a derivation's last value is its answer
    # integer keys in their own unit: a non-integer is wrong (a converted value keeps the 1%)
    (r"\boxed{89.99^\circ}", r"90^\circ", {}, False),
    (r"\boxed{1.01}", r"1^\circ", {}, False),
    (r"\boxed{90.0^\circ}", r"90^\circ", {}, True),
    (r"\boxed{\angle ABC = 90^\circ}", r"90^\circ", {}, True),
    (r"\boxed{5.04 m/s}", "5 m/s", {}, False),
    (r"\boxed{5.04 m/s}", "5 m/s", {"rel_tol": 0.01}, True),
    (r"\boxed{18 km/h}", "5 m/s", {}, True),
    # a bare number is read in the key's unit
    (r"\boxed{9.8}", "9.8 m/s^2", {}, True),
    (r"\boxed{9800}", "9.8 km", {}, False),
    ("The answer is 36 km/h to the north.", "10 m/s", {}, True),
    ("So the speed is 36 and rising", "36 m/s", {}, True),
    # a row whose own unit pint does not know: that unit written back is the key's, anything else is not
    ("4.8 d", "4.8", {"unit": "d", "answer_type": "quantity"}, True),
    ("4.8 foo", "4.8", {"unit": "d", "answer_type": "quantity"}, False),
    ("80.86 Np/m", "80.86", {"unit": "Np/m", "rel_tol": 0.01}, True),  # a logarithmic unit
]

SIG_FIGS: list[Case] = [
    (r"\boxed{9.81}", "9.8", {"sig_figs": 2}, True),
    (r"\boxed{9.8}", "9.81", {"sig_figs": 3}, False),  # fewer digits: 9.8 is 9.80
    (r"\boxed{9.8}", "9.80", {"sig_figs": 3}, True),
    (r"\boxed{9.796}", "9.8", {"sig_figs": 3}, True),
    (r"\boxed{0.15}", "0.2", {"sig_figs": 1}, True),  # half away from zero, on the written decimal
    (r"\boxed{0.149}", "0.2", {"sig_figs": 1}, False),
    (r"\boxed{1190}", "1234", {"sig_figs": 2}, True),  # no integer-key exactness under sig_figs
    (r"\boxed{1260}", "1234", {"sig_figs": 2}, False),
    (r"\boxed{\frac{49}{5}}", "9.8", {"sig_figs": 2}, True),
    (r"\boxed{3.14}", r"\pi", {"sig_figs": 3}, True),
    (r"\boxed{3.15}", r"\pi", {"sig_figs": 3}, False),
    (r"\boxed{-9.8}", "9.8", {"sig_figs": 2}, False),
    (r"\boxed{9.79}", "9.8", {"sig_figs": 2, "rel_tol": 0.5}, True),
    (r"\boxed{9.5}", "9.8", {"sig_figs": 2, "rel_tol": 0.5}, False),  # sig_figs replaces rel_tol
    # composed with units: converted to the key's unit, then rounded
    (r"\boxed{981 cm/s^2}", "9.8 m/s^2", {"sig_figs": 2}, True),
    (r"\boxed{981 cm/s^2}", "9.8 m/s^2", {"sig_figs": 3}, False),
    (r"\boxed{32.2 ft/s^2}", "9.81", {"unit": "m/s^2", "sig_figs": 2}, True),
    (r"\boxed{9.8 kg}", "9.8 m/s^2", {"sig_figs": 2}, False),
    (r"\boxed{9.8 foo}", "9.8 m/s^2", {"sig_figs": 2}, False),
]


def _ids(cases: list[Case]) -> list[str]:
    return [f"{'pos' if c[3] else 'neg'}-{i}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", UNITS, ids=_ids(UNITS))
def test_unit_case(case: Case) -> None:
    response, key, options, expected = case
    assert verify_inline(VerifyRequest(response, key, **options)).correct is expected, case


@pytest.mark.parametrize("case", SIG_FIGS, ids=_ids(SIG_FIGS))
def test_sig_figs_case(case: Case) -> None:
    response, key, options, expected = case
    assert verify_inline(VerifyRequest(response, key, **options)).correct is expected, case


def test_reasons_name_the_unit_failure() -> None:
    def reason(response: str, key: str) -> str:
        return verify_inline(VerifyRequest(response, key)).reason

    assert reason(r"\boxed{9.8 foo}", "9.8 m/s^2") == "unknown-unit"
    assert reason(r"\boxed{9.8 \frac{kg}{s}}", "9.8 m/s^2") == "unit-mismatch"
    assert reason(r"\boxed{45 rad}", "45°") == "mismatch"  # converted: 45 rad is 2578°
    assert reason(r"\boxed{45 rad}", "45 electrons") == "unit-mismatch"


def test_huge_numbers_are_too_large_not_errors() -> None:
    """10^{400} is an exact Fraction with no float: splitting it from its unit raised
    OverflowError out of stage 1 (the caller's process) before."""
    for response in (r"\boxed{10^{400} m}", r"The answer is 10^{400}"):
        verdict = verify_inline(VerifyRequest(response, "2 D"))
        assert not verdict.correct and not verdict.reason.startswith("error"), verdict


def test_round_sig() -> None:
    assert round_sig(Fraction(3, 20), 1) == Decimal("0.2")
    assert round_sig(0.1499999999999999, 1) == Decimal("0.2")  # float noise of a conversion
    assert round_sig(Fraction(-25, 10), 1) == Decimal("-3")  # half away from zero
    assert round_sig(Fraction(996, 100), 2) == round_sig(Fraction(10), 2)  # 9.96 rounds up to 10
    assert round_sig(complex(1, 1), 2) is None
    assert round_sig(Fraction(0), 3) == 0


def test_sig_figs_request_validation() -> None:
    positional = VerifyRequest("1", "1", None, None, None, None, None, None, None, True)  # old call sites
    assert positional.sig_figs is None
    for bad in (0, -1, 16, 2.5, True, "3"):
        with pytest.raises(ValueError, match="sig_figs"):
            VerifyRequest("1", "1", sig_figs=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="problem p: sig_figs"):
        Problem(id="p", prompt="q", answer="1", sig_figs=0)
    assert Problem(id="p", prompt="q", answer="9.8", sig_figs=2).verify_kwargs() == {"sig_figs": 2}


def test_verify_through_the_pool_with_sig_figs() -> None:
    assert verify(r"\boxed{981 cm/s^2}", "9.8 m/s^2", sig_figs=2).correct
    assert not verify(r"\boxed{981 cm/s^2}", "9.8 m/s^2", sig_figs=3).correct


def test_dataset_default_and_row_sig_figs(tmp_path: Path) -> None:
    path = tmp_path / "phys.jsonl"
    rows = [
        {"id": "a", "question": "g?", "answer": "9.8"},
        {"id": "b", "question": "g?", "answer": "9.81", "sig_figs": 3},
        {"id": "c", "question": "g?", "answer": "9.81", "sig_figs": "2"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    plain = load_problems(DatasetConfig(name="jsonl", path=str(path)))
    assert [p.sig_figs for p in plain] == [None, 3, 2]
    defaulted = load_problems(from_dict(DatasetConfig, {"name": "jsonl", "path": str(path), "sig_figs": 4}, prefix="data"))
    assert [p.sig_figs for p in defaulted] == [4, 3, 2]  # a row's own value wins over the default
    assert verify_inline(VerifyRequest(r"\boxed{9.8}", "9.81", **defaulted[2].verify_kwargs())).correct

    path.write_text(json.dumps({"id": "a", "question": "g?", "answer": "9.8", "sig_figs": 0}) + "\n")
    with pytest.raises(RlvrError, match=r"phys.jsonl:1: field 'sig_figs': sig_figs must be an integer"):
        load_problems(DatasetConfig(name="jsonl", path=str(path)))
    with pytest.raises(ConfigError, match="sig_figs"):
        from_dict(DatasetConfig, {"name": "jsonl", "path": str(path), "sig_figs": 0}, prefix="data")
    with pytest.raises(ConfigError, match="not both"):
        from_dict(DatasetConfig, {"name": "jsonl", "path": str(path), "sig_figs": 2, "rel_tol": 0.01}, prefix="data")


def test_cli_sig_figs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", r"\boxed{9.8}", "9.81", "--sig-figs", "2"]) == 0
    assert main(["verify", r"\boxed{9.8}", "9.81", "--sig-figs", "3"]) == 1
    capsys.readouterr()
    assert main(["verify", r"\boxed{9.8}", "9.81", "--sig-figs", "0"]) == 2
    err = capsys.readouterr().err
    assert "--sig-figs" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_one_registry_per_process() -> None:
    assert ureg() is ureg()
    assert parse_unit("kN").units == ureg().Unit("kilonewton")


def test_plain_keys_never_load_pint() -> None:
    """Stage 1 runs in the trainer's process: keys without a unit must not build the registry
    (about a second and tens of MB), even for answers that look like units (4t, 17t - 10)."""
    code = (
        "import sys\n"
        "from rlvr.verifiers import VerifyRequest\n"
        "from rlvr.verifiers.api import prepare\n"
        "for r, k in [('\\\\boxed{18}', '18'), ('The answer is 17 m.', '17'), ('\\\\boxed{4t}', '4t'),\n"
        "             ('\\\\boxed{-6t^4 + 17t - 10}', '-6t^4 + 17t - 10'), ('x = 2.5', '\\\\frac{5}{2}')]:\n"
        "    prepare(VerifyRequest(r, k))\n"
        "print('pint' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_long_answers_cost_little() -> None:
    """Every split of number and unit used to be parsed, so a 2,000-character answer with a
    thousand of them took seconds (6.7 s for ``1 a 1 a ...``), in the caller's process."""
    ureg()
    bodies = [("1 a " * 500)[:2000], ("1 m " * 500)[:2000], ("\\frac{1}{2} x " * 150)[:2000]]
    start = time.perf_counter()
    for body in bodies:
        assert not verify_inline(VerifyRequest("\\boxed{" + body + "}", "9.8 m/s^2")).correct
    assert time.perf_counter() - start < 3.0
