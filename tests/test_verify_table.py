"""Answer-equivalence table for rlvr.verifiers: (category, response, answer, options, expected).

Hand-written rows plus generated families (each key in several spellings and wrappers, and
wrong values next to it). Keys are copied from MATH-500, GSM8K, SciBench, JEEBench and ABench
rows; nothing is read from the datasets at test time. ``scripts/compare_verifiers.py`` runs
math-verify on the same rows.
"""

from __future__ import annotations

import pytest

from rlvr.verifiers import VerifyRequest, verify_inline

Case = tuple[str, str, str, dict, bool]

_HAND: list[Case] = [
    # -- extraction -------------------------------------------------------------------------
    ("extraction", "Thus the answer is $\\boxed{18}$.", "18", {}, True),
    ("extraction", "We get \\boxed{3}, or else \\boxed{5}." + " x" * 200, "5", {}, False),
    ("extraction", "First try gave \\boxed{3}.\n\n" + "Rechecking. " * 40 + "So \\boxed{5}.", "5", {}, True),
    ("extraction", "It is \\boxed{3} or maybe \\boxed{4}.", "3", {}, False),
    ("extraction", "It is \\boxed{3} or maybe \\boxed{4}.", "4", {}, False),
    ("extraction", "\\fbox{42}", "42", {}, True),
    ("extraction", "so the result is \\boxed 7.", "7", {}, True),
    ("extraction", "<think>2+2=4, maybe 5</think><answer>4</answer>", "4", {}, True),
    ("extraction", "<think>it is 4</think><answer>5</answer>", "4", {}, False),
    ("extraction", "<answer>The result is \\boxed{12}</answer>", "12", {}, True),
    ("extraction", "Natalia sold 48/2 = 24 clips in May.\n48+24 = 72\n#### 72", "72", {}, True),
    ("extraction", "She pays 5*3 = 15 dollars.\n#### 15", "16", {}, False),
    ("extraction", "#### 1,080", "1080", {}, True),
    ("extraction", "Step 1 ... Step 2 ...\nAnswer: 27", "27", {}, True),
    ("extraction", "**Final Answer:** 27", "27", {}, True),
    ("extraction", "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac34", {}, True),
    ("extraction", "The final answer is 12.", "12", {}, True),
    ("extraction", "Therefore, the answer is 2.5 hours.", "2.5", {}, True),
    ("extraction", "She has 3 apples and buys 4 more, so she has 7 apples in total.", "7", {}, True),
    ("extraction", "She has 3 apples and buys 4 more, so she has 7 apples in total.", "7", {"fallback": False}, False),
    ("extraction", "The boxes hold 12 and 15 items, so 27 items.", "12", {}, False),
    ("extraction", "Answer: 9", "9", {"marker": "answer_colon"}, True),
    ("extraction", "\\boxed{9}", "9", {"marker": "gsm8k", "fallback": False}, False),
    ("extraction", "#### 9", "9", {"marker": "gsm8k"}, True),
    ("extraction", "<answer>9</answer>", "9", {"marker": "answer_tag"}, True),
    ("extraction", "The final answer is 9", "9", {"marker": "final_answer"}, True),
    ("extraction", "No idea.", "9", {}, False),
    ("extraction", "", "9", {}, False),
    ("extraction", "\\boxed{}", "9", {"fallback": False}, False),
    ("extraction", "\\boxed{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}", "7", {}, False),
    ("extraction", "\\boxed{7 \\text{ or } 8}", "7", {}, False),
    ("extraction", "\\boxed{\\frac{1}{2}}", "\\frac12", {}, True),
    ("extraction", "$\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$", "\\left( 3, \\frac{\\pi}{2} \\right)", {}, True),
    ("extraction", "Answer: $x = 5$", "5", {}, True),
    ("extraction", "d = \\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}} inches.", "\\frac{639}{40}", {}, True),
    # -- numeric ---------------------------------------------------------------------------
    ("numeric", "\\boxed{1,000,000}", "1000000", {}, True),
    ("numeric", "\\boxed{1{,}000}", "1000", {}, True),
    ("numeric", "\\boxed{10,\\!080}", "10080", {}, True),
    ("numeric", "\\boxed{18.0}", "18", {}, True),
    ("numeric", "\\boxed{18.01}", "18", {}, False),
    ("numeric", "\\boxed{0.5}", "\\frac{1}{2}", {}, True),
    ("numeric", "\\boxed{\\dfrac{1}{2}}", "0.5", {}, True),
    ("numeric", "\\boxed{1/2}", "\\frac12", {}, True),
    ("numeric", "\\boxed{2/4}", "\\frac{1}{2}", {}, True),
    ("numeric", "\\boxed{0.333}", "\\frac{1}{3}", {}, False),
    ("numeric", "\\boxed{0.3333333}", "\\frac{1}{3}", {}, True),
    ("numeric", "\\boxed{3\\frac{1}{2}}", "\\frac{7}{2}", {}, True),
    ("numeric", "\\boxed{3 1/2}", "3.5", {}, True),
    ("numeric", "\\boxed{1\\frac{4}{5}}", "1.8", {}, True),
    ("numeric", "\\boxed{2\\sqrt{2}}", "\\sqrt{8}", {}, True),
    ("numeric", "\\boxed{\\sqrt{8}}", "2\\sqrt2", {}, True),
    ("numeric", "\\boxed{3\\sqrt{2}}", "2\\sqrt3", {}, False),
    ("numeric", "\\boxed{\\frac{\\sqrt{3}}{3}}", "\\frac{1}{\\sqrt{3}}", {}, True),
    ("numeric", "\\boxed{2\\pi}", "2\\pi", {}, True),
    ("numeric", "\\boxed{6.2832}", "2\\pi", {}, False),
    ("numeric", "\\boxed{\\pi}", "3.14", {}, True),  # a 3-figure decimal key is a rounded value
    ("numeric", "\\boxed{2^{10}}", "1024", {}, True),
    ("numeric", "\\boxed{2^{100}}", "1267650600228229401496703205376", {}, True),
    ("numeric", "\\boxed{2^{100}+1}", "1267650600228229401496703205376", {}, False),
    ("numeric", "\\boxed{5!}", "120", {}, True),
    ("numeric", "\\boxed{\\binom{5}{2}}", "10", {}, True),
    ("numeric", "\\boxed{2.9e-11}", "2.9 \\times 10^{-11}", {}, True),
    ("numeric", "\\boxed{2.9 \\times 10^{-11}}", "2.9e-11", {}, True),
    ("numeric", "\\boxed{3.0 \\times 10^{-11}}", "2.9e-11", {}, False),
    ("numeric", "\\boxed{50\\%}", "50", {}, True),
    ("numeric", "\\boxed{50\\%}", "0.5", {}, True),
    ("numeric", "\\boxed{50}", "50\\%", {}, True),
    ("numeric", "\\boxed{40\\%}", "50\\%", {}, False),
    ("numeric", "\\boxed{\\$18.90}", "18.90", {}, True),
    ("numeric", "The total cost is $\\$18.90$.", "\\$18.90", {}, True),
    ("numeric", "\\boxed{18 \\text{ dollars}}", "18", {}, True),
    ("numeric", "\\boxed{76^\\circ}", "76", {}, True),
    ("numeric", "\\boxed{76}", "76^\\circ", {}, True),
    ("numeric", "\\boxed{77}", "76^\\circ", {}, False),
    ("numeric", "\\boxed{-7}", "-7", {}, True),
    ("numeric", "\\boxed{7}", "-7", {}, False),
    ("numeric", "\\boxed{6+9i}", "6+9i", {}, True),
    ("numeric", "\\boxed{9i+6}", "6+9i", {}, True),
    ("numeric", "\\boxed{6-9i}", "6+9i", {}, False),
    ("numeric", "\\boxed{42}", "52_8", {}, True),
    ("numeric", "\\boxed{88.27}", "88.3", {}, True),
    ("numeric", "\\boxed{88.4}", "88.3", {}, False),
    ("numeric", "\\boxed{13.4}", "13.5", {}, False),
    ("numeric", "\\boxed{0.45}", "0.5", {}, False),
    ("numeric", "\\boxed{102}", "100", {"rel_tol": 0.05}, True),
    ("numeric", "\\boxed{110}", "100", {"rel_tol": 0.05}, False),
    ("numeric", "\\boxed{100.4}", "100", {"abs_tol": 0.5}, True),
    ("numeric", "\\boxed{.0000672}", "6.72 \\times 10^{-5}", {}, True),
    ("numeric", "\\boxed{\\log_2 8}", "3", {}, True),
    ("numeric", "\\boxed{e^{i\\pi}}", "-1", {}, True),
    ("numeric", "\\boxed{\\frac{20000}{\\pi}}", "\\frac{20000}{\\pi}", {}, True),
    ("numeric", "\\boxed{\\frac{2}{0}}", "1", {}, False),
    # -- symbolic --------------------------------------------------------------------------
    ("symbolic", "\\boxed{(x+1)^2}", "x^2+2x+1", {}, True),
    ("symbolic", "\\boxed{(x+1)^2}", "x^2+x+1", {}, False),
    ("symbolic", "\\boxed{x^5 - x^4 + x^3 - x^2 + x - 1}", "x^5 - x^4 + x^3 - x^2 + x - 1", {}, True),
    ("symbolic", "\\boxed{(x-1)(x^4+x^2+1)}", "x^5 - x^4 + x^3 - x^2 + x - 1", {}, True),
    ("symbolic", "\\boxed{p-q}", "p - q", {}, True),
    ("symbolic", "\\boxed{q-p}", "p - q", {}, False),
    ("symbolic", "\\boxed{\\frac{\\cos x}{\\sin x}}", "\\cot x", {}, True),
    ("symbolic", "\\boxed{\\tan x}", "\\cot x", {}, False),
    ("symbolic", "\\boxed{\\sin^2 x + \\cos^2 x}", "1", {}, True),
    ("symbolic", "\\boxed{|x|}", "x", {}, False),
    ("symbolic", "\\boxed{\\sqrt{x^2}}", "x", {}, False),
    ("symbolic", "\\boxed{2(k+1)}", "2k+2", {}, True),
    ("symbolic", "\\boxed{(a+5)(b+2)}", "ab+2a+5b+10", {}, True),
    ("symbolic", "\\boxed{6r^2-4r-24}", "2(3r^2-2r-12)", {}, True),
    ("symbolic", "\\boxed{\\frac{9a+11}{20}}", "\\frac{11+9a}{20}", {}, True),
    ("symbolic", "\\boxed{x = 5}", "5", {}, True),
    ("symbolic", "\\boxed{5}", "x=5", {}, True),
    ("symbolic", "\\boxed{x = 4}", "x=5", {}, False),
    ("symbolic", "\\boxed{x = \\frac{10}{2} = 5}", "5", {}, True),
    ("symbolic", "\\boxed{2x-y+1=0}", "y=2x+1", {}, True),
    ("symbolic", "\\boxed{y = 1 + 2x}", "y=2x+1", {}, True),
    ("symbolic", "\\boxed{2x+y+1=0}", "y=2x+1", {}, False),
    ("symbolic", "\\boxed{-5x + 7y - 11z - 4 = 0}", "5x - 7y + 11z + 4 = 0", {}, True),
    ("symbolic", "\\boxed{(2, \\infty)}", "x > 2", {}, True),
    ("symbolic", "\\boxed{x>2}", "(2,\\infty)", {}, True),
    ("symbolic", "\\boxed{[2, \\infty)}", "(2,\\infty)", {}, False),
    ("symbolic", "\\boxed{x \\ge 2}", "(2,\\infty)", {}, False),
    ("symbolic", "\\boxed{(3,4]}", "(3,4]", {}, True),
    ("symbolic", "\\boxed{3 < x \\le 4}", "(3,4]", {}, True),
    ("symbolic", "\\boxed{[3,4]}", "(3,4]", {}, False),
    ("symbolic", "\\boxed{x \\in [-2,7]}", "[-2,7]", {}, True),
    ("symbolic", "\\boxed{-2 \\le x \\le 7}", "x \\in [-2,7]", {}, True),
    ("symbolic", "\\boxed{(-\\infty, 0]}", "(-\\infty, 0]", {}, True),
    ("symbolic", "\\boxed{x \\le 0}", "(-\\infty, 0]", {}, True),
    ("symbolic", "\\boxed{(9,36) \\cup (0,9)}", "(0,9) \\cup (9,36)", {}, True),
    ("symbolic", "\\boxed{(0,36)}", "(0,9) \\cup (9,36)", {}, False),
    ("symbolic", "\\boxed{\\left(\\frac{3}{5},\\frac{8}{3}\\right]}", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", {}, True),
    ("symbolic", "\\boxed{(0.6, 8/3]}", "\\left(\\frac{3}{5},\\frac{8}{3}\\right]", {}, True),
    ("symbolic", "\\boxed{3, 5, 7}", "3, 5, 7", {}, True),
    ("symbolic", "\\boxed{7, 3, 5}", "3, 5, 7", {}, True),
    ("symbolic", "\\boxed{3, 5}", "3, 5, 7", {}, False),
    ("symbolic", "\\boxed{3, 5, 7, 9}", "3, 5, 7", {}, False),
    ("symbolic", "\\boxed{\\{1, -2\\}}", "1,-2", {}, True),
    ("symbolic", "\\boxed{-2 and 1}", "1,-2", {}, True),
    ("symbolic", "\\boxed{(6,31,-1)}", "(6,31,-1)", {}, True),
    ("symbolic", "\\boxed{(31,6,-1)}", "(6,31,-1)", {}, False),
    ("symbolic", "\\boxed{(-2, 1)}", "(-2,1)", {}, True),
    ("symbolic", "\\boxed{(1, -2)}", "(-2,1)", {}, False),
    ("symbolic", "\\boxed{\\left( \\frac{3}{2}, -13 \\right)}", "(1.5, -13)", {}, True),
    ("symbolic", "\\boxed{(3, \\pi/2)}", "\\left( 3, \\frac{\\pi}{2} \\right)", {}, True),
    ("symbolic", "\\boxed{(3, \\pi)}", "\\left( 3, \\frac{\\pi}{2} \\right)", {}, False),
    ("symbolic", "\\boxed{1 \\pm \\sqrt{19}}", "1 \\pm \\sqrt{19}", {}, True),
    ("symbolic", "\\boxed{1+\\sqrt{19}, 1-\\sqrt{19}}", "1 \\pm \\sqrt{19}", {}, True),
    ("symbolic", "\\boxed{1+\\sqrt{19}}", "1 \\pm \\sqrt{19}", {}, False),
    ("symbolic", "\\boxed{\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", {}, True),
    ("symbolic", "\\boxed{\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", {}, True),
    ("symbolic", "\\boxed{\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}}", "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", {}, False),
    (
        "symbolic",
        "\\boxed{\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}}",
        "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}",
        {},
        True,
    ),
    ("symbolic", "\\boxed{x=2, y=1}", "x=2, y=1", {}, True),
    ("symbolic", "\\boxed{y=1, x=2}", "x=2, y=1", {}, True),
    ("symbolic", "\\boxed{x=1, y=2}", "x=2, y=1", {}, False),
    ("symbolic", "\\boxed{\\frac{11+9a}{20}}", "\\frac{11+9b}{20}", {}, False),
    # -- physics quantities ----------------------------------------------------------------
    ("physics", "9.8 m/s^2", "9.8 m/s^2", {}, True),
    ("physics", "\\boxed{9.81 \\mathrm{m/s^2}}", "9.8 m/s^2", {}, True),
    ("physics", "\\boxed{980 \\text{ cm/s}^2}", "9.8 m/s^2", {}, True),
    ("physics", "\\boxed{9.8 N}", "9.8 m/s^2", {}, False),
    ("physics", "\\boxed{9.8 \\text{ m/s}}", "9.8 m/s^2", {}, False),
    ("physics", "\\boxed{9.8 kg}", "9.8 m/s^2", {}, False),
    ("physics", "\\boxed{9.8}", "9.8", {"unit": "m/s^2"}, True),
    ("physics", "\\boxed{9.8 N}", "9.8", {"unit": "m/s^2"}, False),
    ("physics", "\\boxed{36 km/h}", "10 m/s", {}, True),
    ("physics", "\\boxed{36 km}", "10 m/s", {}, False),
    ("physics", "\\boxed{1.5 eV}", "2.4 \\times 10^{-19} J", {}, True),
    ("physics", "\\boxed{1.5 V}", "2.4 \\times 10^{-19} J", {}, False),
    ("physics", "\\boxed{25 ^\\circ C}", "298.15 K", {}, True),
    ("physics", "\\boxed{298 K}", "25 °C", {}, True),
    ("physics", "\\boxed{25 K}", "25 °C", {}, False),
    ("physics", "\\boxed{2 L}", "0.002 m^3", {}, True),
    ("physics", "\\boxed{2 L}", "0.002 m^2", {}, False),
    ("physics", "\\boxed{3 min}", "180 s", {}, True),
    ("physics", "\\boxed{3 m}", "180 s", {}, False),
    ("physics", "\\boxed{2.5 \\mathrm{kN}}", "2500 N", {}, True),
    ("physics", "\\boxed{2.5 \\mathrm{kJ}}", "2500 N", {}, False),
    ("physics", "\\boxed{4.0 \\mu C}", "4 \\times 10^{-6} C", {}, True),
    ("physics", "\\boxed{4.0 \\mu F}", "4 \\times 10^{-6} C", {}, False),
    ("physics", "\\boxed{2160 m/s}", "2.16", {"unit": "$10^3 \\mathrm{~m} / \\mathrm{s}$"}, True),
    ("physics", "\\boxed{2.16}", "2.16", {"unit": "$10^3 \\mathrm{~m} / \\mathrm{s}$"}, True),
    ("physics", "\\boxed{2160 m}", "2.16", {"unit": "$10^3 \\mathrm{~m} / \\mathrm{s}$"}, False),
    ("physics", "\\boxed{-6.42 kJ/mol}", "-6.42", {"unit": "$\\mathrm{~kJ} \\mathrm{~mol}^{-1}$"}, True),
    ("physics", "\\boxed{-6420 J mol^{-1}}", "-6.42", {"unit": "$\\mathrm{~kJ} \\mathrm{~mol}^{-1}$"}, True),
    ("physics", "\\boxed{-6.42 kJ}", "-6.42", {"unit": "$\\mathrm{~kJ} \\mathrm{~mol}^{-1}$"}, False),
    ("physics", "\\boxed{6.23 \\times 10^{3} J}", "6.23 \\times 10^{3}", {"unit": "\\mathrm{\\;J}"}, True),
    ("physics", "\\boxed{6.23 kJ}", "6.23 \\times 10^{3}", {"unit": "\\mathrm{\\;J}"}, True),
    ("physics", "\\boxed{6.23 kW}", "6.23 \\times 10^{3}", {"unit": "\\mathrm{\\;J}"}, False),
    ("physics", "\\boxed{2.16 \\times 10^{4} V/m}", "2.16 \\times 10^{4}", {"unit": "\\mathrm{\\;V}/\\mathrm{m}"}, True),
    ("physics", "\\boxed{21.6 kV/m}", "2.16 \\times 10^{4}", {"unit": "\\mathrm{\\;V}/\\mathrm{m}"}, True),
    ("physics", "\\boxed{21.6 kV}", "2.16 \\times 10^{4}", {"unit": "\\mathrm{\\;V}/\\mathrm{m}"}, False),
    ("physics", "\\boxed{65.91^\\circ}", "65.91", {"unit": "{ \\circ}"}, True),
    ("physics", "\\boxed{65.91}", "65.91", {"unit": "{ \\circ}"}, True),
    ("physics", "\\boxed{2.4 \\times 10^{7} cm^{-3}}", "2.4 \\times 10^{7}", {"unit": "{\\mathrm{\\;{cm}}}^{-3}"}, True),
    ("physics", "\\boxed{2.4 \\times 10^{13} m^{-3}}", "2.4 \\times 10^{7}", {"unit": "{\\mathrm{\\;{cm}}}^{-3}"}, True),
    ("physics", "\\boxed{2.4 \\times 10^{7} m^{-3}}", "2.4 \\times 10^{7}", {"unit": "{\\mathrm{\\;{cm}}}^{-3}"}, False),
    ("physics", "\\boxed{1.61 \\times 10^{-23} J/T}", "1.61", {"unit": "$10^{-23} \\mathrm{~J} / \\mathrm{T}$"}, True),
    ("physics", "\\boxed{2.0 m/s}", "2.1 m/s", {}, False),
    ("physics", "\\boxed{2.0 m/s}", "2.1 m/s", {"rel_tol": 0.1}, True),
    ("physics", "The speed is 2.11 m/s.", "2.1 m/s", {}, True),
    ("physics", "\\boxed{100 J}", "100", {}, True),
    ("physics", "\\boxed{5 \\text{ inches}}", "5 \\text{ inches}", {}, True),
    ("physics", "\\boxed{12.7 cm}", "5 \\text{ inches}", {}, True),
    ("physics", "\\boxed{5 \\text{ pounds}}", "5 \\text{ inches}", {}, False),
    ("physics", "\\boxed{864}", "864 \\mbox{ inches}^2", {}, True),
    ("physics", "\\boxed{864 \\text{ inches}}", "864 \\mbox{ inches}^2", {}, False),
    ("physics", "\\boxed{1 atm}", "101.325 kPa", {}, True),
    ("physics", "\\boxed{1 atm}", "101.325 kJ", {}, False),
    ("physics", "\\boxed{3 \\Omega}", "3 ohm", {}, True),
    ("physics", "\\boxed{3 A}", "3 ohm", {}, False),
    ("physics", "\\boxed{0.5 \\mathrm{kg \\cdot m^2}}", "500 g m^2", {}, True),
    ("physics", "\\boxed{4186 J/(kg °C)}", "4.186 kJ/(kg K)", {}, True),
    ("physics", "\\boxed{2 h}", "7200 s", {}, True),
    ("physics", "\\boxed{2 hours}", "120 minutes", {}, True),
    ("physics", "\\boxed{2 hours}", "120 meters", {}, False),
    ("physics", "\\boxed{500 nm}", "5 \\times 10^{-7} m", {}, True),
    ("physics", "\\boxed{500 nm}", "5 \\times 10^{-7} s", {}, False),
    ("physics", "\\boxed{1 \\AA}", "0.1 nm", {}, True),
    ("physics", "\\boxed{0.9c}", "0.9c", {}, True),
    # -- multiple choice -------------------------------------------------------------------
    ("choice", "The answer is (C).", "C", {}, True),
    ("choice", "\\boxed{C}", "C", {}, True),
    ("choice", "\\boxed{\\text{(C)}}", "\\text{(C)}", {}, True),
    ("choice", "\\boxed{C}", "\\text{(C)}", {}, True),
    ("choice", "\\boxed{B}", "\\text{(C)}", {}, False),
    ("choice", "\\boxed{CD}", "CD", {}, True),
    ("choice", "\\boxed{C, D}", "CD", {}, True),
    ("choice", "The correct options are (C) and (D).", "CD", {}, True),
    ("choice", "\\boxed{D, C}", "CD", {}, True),
    ("choice", "\\boxed{C}", "CD", {}, False),
    ("choice", "\\boxed{ACD}", "CD", {}, False),
    ("choice", "\\boxed{ABCD}", "CD", {}, False),
    ("choice", "\\boxed{A or B}", "A", {}, False),
    ("choice", "Answer: (b)", "B", {}, True),
    ("choice", "Answer: B", "B", {"choices": ["3 m/s", "5 m/s", "7 m/s", "9 m/s"]}, True),
    ("choice", "Answer: 5 m/s", "B", {"choices": ["3 m/s", "5 m/s", "7 m/s", "9 m/s"]}, True),
    ("choice", "Answer: 7 m/s", "B", {"choices": ["3 m/s", "5 m/s", "7 m/s", "9 m/s"]}, False),
    ("choice", "\\boxed{B}", "5 m/s", {"choices": ["3 m/s", "5 m/s", "7 m/s", "9 m/s"]}, True),
    ("choice", "\\boxed{F}", "B", {"choices": ["1", "2", "3", "4"]}, False),
    ("choice", "I think the answer is D", "D", {}, True),
    ("choice", "After checking each statement, options A, B and D hold.\nAnswer: ABD", "ABD", {}, True),
    # -- text ------------------------------------------------------------------------------
    ("text", "\\boxed{\\text{Evelyn}}", "\\text{Evelyn}", {}, True),
    ("text", "\\boxed{Evelyn}", "\\text{Evelyn}", {}, True),
    ("text", "\\boxed{evelyn.}", "\\text{Evelyn}", {}, True),
    ("text", "\\boxed{Bob}", "\\text{Evelyn}", {}, False),
    ("text", "\\boxed{Evelyn and Bob}", "\\text{Evelyn}", {}, False),
    ("text", "\\boxed{\\text{even}}", "\\text{even}", {}, True),
    ("text", "\\boxed{odd}", "\\text{even}", {}, False),
    ("text", "\\boxed{East}", "\\text{east}", {}, True),
    ("text", "\\boxed{the ellipse}", "\\text{ellipse}", {}, True),
    ("text", "\\boxed{a parabola}", "\\text{ellipse}", {}, False),
    ("text", "\\boxed{No}", "No", {}, True),
    ("text", "\\boxed{Yes}", "No", {}, False),
    ("text", "\\boxed{\\textbf{Monday}}", "Monday", {}, True),
    ("text", "\\boxed{Tuesday}", "Monday", {}, False),
    # -- countdown -------------------------------------------------------------------------
    ("countdown", "<answer>(25 - 5) * 4</answer>", "80", {"numbers": [25, 5, 4, 3]}, True),
    ("countdown", "<answer>(25 - 5) * 4 = 80</answer>", "80", {"numbers": [25, 5, 4, 3]}, True),
    ("countdown", "<answer>(25 - 5) * 4 = 81</answer>", "80", {"numbers": [25, 5, 4, 3]}, False),
    ("countdown", "<answer>(25 - 5) * 4 * 1</answer>", "80", {"numbers": [25, 5, 4, 3]}, False),
    ("countdown", "<answer>4 * 4 * 5</answer>", "80", {"numbers": [25, 5, 4, 3]}, False),
    ("countdown", "<answer>25 * 3 + 5</answer>", "80", {"numbers": [25, 5, 4, 3]}, True),
    ("countdown", "<answer>25 * 3 + 4</answer>", "80", {"numbers": [25, 5, 4, 3]}, False),
    ("countdown", "<answer>(4 + 3) / 7 * 25</answer>", "25", {"numbers": [25, 4, 3, 7]}, True),
    ("countdown", "<answer>7 / 2 * 2</answer>", "7", {"numbers": [7, 2, 2]}, True),
    ("countdown", "<answer>80</answer>", "80", {"numbers": [25, 5, 4, 3]}, False),
    ("countdown", "<answer>__import__('os').system('true')</answer>", "80", {"numbers": [25, 5, 4, 3]}, False),
    ("countdown", "<answer>-25 + 105</answer>", "80", {"numbers": [25, 105]}, False),
    ("countdown", "<answer>25 5 4</answer>", "80", {"numbers": [25, 5, 4]}, False),
    ("countdown", "<answer>(5 - 5) / 0</answer>", "0", {"numbers": [5, 5, 0]}, False),
    ("countdown", "Let me try.\n25 - 5 = 20, 20 * 4 = 80\n(25 - 5) * 4", "80", {"numbers": [25, 5, 4]}, True),
    ("countdown", "<answer>25 × 3 + 5</answer>", "80", {"numbers": [25, 5, 3]}, True),
    # -- adversarial -----------------------------------------------------------------------
    ("adversarial", "\\boxed{9^{9^{9^{9}}}}", "1", {}, False),
    ("adversarial", "\\boxed{10^{10^{10}}!}", "1", {}, False),
    ("adversarial", "\\boxed{10^{10^{10}}}", "10^{10^{10}}", {}, True),  # same text: exact fast path
    ("adversarial", "\\boxed{10^{10^{10}}+1}", "10^{10^{10}}", {}, False),
    ("adversarial", "\\boxed{(10^{1000})!}", "1", {}, False),
    ("adversarial", "\\boxed{\\binom{10^{9}}{5}}", "1", {}, False),
    ("adversarial", "\\boxed{e^{10^{6}}}", "1", {}, False),
    ("adversarial", "\\boxed{\\sin(10^{400})}", "0", {}, False),
    ("adversarial", "x" * 200_000 + " \\boxed{5}", "5", {}, True),
    ("adversarial", "7 " * 100_000, "7", {"fallback": False}, False),
    ("adversarial", "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}", "1", {}, False),
    ("adversarial", "(" * 5000 + "1" + ")" * 5000, "1", {}, False),
    ("adversarial", "\\boxed{" + "(" * 500 + "1" + ")" * 500 + "}", "1", {}, False),
    ("adversarial", "\\boxed{1}\x00", "1", {}, False),
    ("adversarial", "\x00" * 100, "1", {}, False),
    ("adversarial", "\\boxed{1}\udcff", "1", {}, False),
    ("adversarial", "__import__('os').system('touch /tmp/rlvr_pwned')", "0", {}, False),
    ("adversarial", "\\boxed{__import__('os').getcwd()}", "0", {}, False),
    ("adversarial", "\\boxed{lambda: 0}", "0", {}, False),
    ("adversarial", "\\boxed{1 2 3 4}", "24", {}, False),
    ("adversarial", "\\boxed{1, 2, 3, 4, 5, 6, 7, 8, 9, 24}", "24", {}, False),
    ("adversarial", "\\boxed{A, B, C, D}", "B", {}, False),
    ("adversarial", "\\boxed{\\text{I don't know}}", "7", {}, False),
    ("adversarial", "\\boxed{0/0}", "0", {}, False),
    ("adversarial", "\\boxed{\\infty}", "\\infty", {}, True),
    ("adversarial", "\\boxed{-\\infty}", "\\infty", {}, False),
    ("adversarial", "\\boxed{\\frac{1}{0}}", "\\infty", {}, False),
    ("adversarial", "\\boxed{" + "1+" * 3000 + "1}", "3001", {}, False),
    ("adversarial", "\\boxed{x^{x^{x^{x^{x^{x}}}}}}", "x^{x^{x^{x^{x^{x}}}}}", {}, True),
    ("adversarial", "\\boxed{9.8 m/s^2 + 1 N}", "9.8 m/s^2", {}, False),
    ("adversarial", "\\boxed{\\sqrt{-1}}", "i", {}, True),
]


def _generated() -> list[Case]:
    out: list[Case] = []
    # numeric: GSM8K / MATH-500 style keys in several wrappers, with nearby wrong values
    keys = [
        "18",
        "3",
        "70000",
        "540",
        "20",
        "64",
        "260",
        "160",
        "45",
        "1080",
        "1200",
        "5",
        "104",
        "12",
        "27648",
        "331",
        "600",
        "28",
        "76",
        "2",
        "0",
        "-4",
        "17",
        "125",
        "4",
    ]
    wraps = [
        "The answer is $\\boxed{%s}$.",
        "#### %s",
        "So the final result:\n\nAnswer: %s",
        "<answer>%s</answer>",
        "Final Answer: The final answer is $%s$. I hope it is correct.",
    ]
    for i, k in enumerate(keys):
        for j, w in enumerate(wraps):
            out.append(("numeric", w % k, k, {}, True))
            out.append(("numeric", w % str(int(k) + 1 + (i + j) % 3), k, {}, False))
        out.append(("numeric", "\\boxed{%s.0}" % k, k, {}, True))
        out.append(("numeric", "\\boxed{%s}" % f"{int(k):,}", k, {}, True))
    fracs = [
        ("\\frac{14}{3}", "14/3", "4.6667"),
        ("\\frac{3}{56}", "3/56", "0.05"),
        ("\\frac{11}{36}", "11/36", "0.3"),
        ("\\frac{243}{625}", "0.3888", "243/626"),
        ("\\frac{35}{64}", "0.546875", "35/46"),
        ("\\frac{3}{2}", "1.5", "2/3"),
        ("\\frac{1}{4}", "0.25", "1/5"),
        ("\\frac65", "1.2", "5/6"),
        ("\\frac{13}{18}", "26/36", "13/19"),
        ("\\frac{9}{256}", "0.03515625", "9/265"),
        ("\\dfrac{17}{50}", "0.34", "0.35"),
        ("\\frac{1997}{2}", "998.5", "1997"),
        ("\\frac 59", "5/9", "9/5"),
        ("\\frac{448}{15625}", "0.028672", "0.0287"),
    ]
    for key, good, bad in fracs:
        out.append(("numeric", "\\boxed{%s}" % good, key, {}, True))
        out.append(("numeric", "\\boxed{%s}" % bad, key, {}, False))
        out.append(("numeric", "\\boxed{%s}" % key, key, {}, True))
    radicals = [
        ("3\\sqrt{13}", "\\sqrt{117}", "\\sqrt{39}"),
        ("11\\sqrt2", "\\sqrt{242}", "11\\sqrt3"),
        ("70 \\sqrt{2}", "\\sqrt{9800}", "70"),
        ("\\frac{3\\sqrt{3}}{4}", "\\frac{\\sqrt{27}}{4}", "\\frac{3\\sqrt{3}}{2}"),
        ("2\\sqrt{113}", "\\sqrt{452}", "\\sqrt{226}"),
        ("16 \\sqrt{3}", "\\sqrt{768}", "16"),
        ("1+2\\sqrt{3}", "2\\sqrt{3}+1", "1+3\\sqrt{2}"),
        ("11 \\sqrt{5} + 11", "11(\\sqrt5+1)", "11\\sqrt5"),
        ("18+2\\pi", "2(9+\\pi)", "18+\\pi"),
        ("288 \\pi", "288\\pi", "288"),
        ("12\\pi", "12 \\cdot \\pi", "12"),
        ("-\\frac{\\pi}{6}", "-\\pi/6", "\\frac{\\pi}{6}"),
        ("\\frac{\\sqrt{21}}{5}", "\\sqrt{21}/5", "\\sqrt{21}"),
    ]
    for key, good, bad in radicals:
        out.append(("numeric", "\\boxed{%s}" % good, key, {}, True))
        out.append(("numeric", "\\boxed{%s}" % bad, key, {}, False))
    # physics: conversions in both directions, each with a dimension-mismatch twin
    conversions = [
        ("1 km", "1000 m", "1000 s"),
        ("5 cm", "0.05 m", "0.05 kg"),
        ("2 kg", "2000 g", "2000 m"),
        ("3 ms", "0.003 s", "0.003 m"),
        ("1 mA", "0.001 A", "0.001 V"),
        ("2 MHz", "2 \\times 10^6 Hz", "2 \\times 10^6 s"),
        ("1.2 kW", "1200 W", "1200 J"),
        ("3 mm", "3000 \\mu m", "3000 \\mu s"),
        ("1 GPa", "10^9 Pa", "10^9 N"),
        ("4 MeV", "4000 keV", "4000 kV"),
        ("10 m/s", "36 km/h", "36 km"),
        ("1 kWh", "3.6 \\times 10^6 J", "3.6 \\times 10^6 W"),
        ("250 mL", "0.25 L", "0.25 m"),
        ("2 N m", "2 J", "2 W"),
        ("1 T", "10^4 G", "10^4 Hz"),
        ("300 K", "26.85 °C", "26.85 m"),
        ("1 h", "60 min", "60 m"),
        ("1 mol", "1000 mmol", "1000 mm"),
        ("6 \\mu C", "6 \\times 10^{-6} C", "6 \\times 10^{-6} F"),
        ("5 nF", "5 \\times 10^{-9} F", "5 \\times 10^{-9} C"),
    ]
    for key, good, bad in conversions:
        out.append(("physics", "\\boxed{%s}" % good, key, {}, True))
        out.append(("physics", "\\boxed{%s}" % key, good, {}, True))
        out.append(("physics", "\\boxed{%s}" % bad, key, {}, False))
        out.append(("physics", "\\boxed{%s}" % key, bad, {}, False))
    sci = [
        ("2.16", "$10^3 \\mathrm{~m} / \\mathrm{s}$", "2160 m/s", "2160 m"),
        ("4.1", "$\\text{kJ}$", "4100 J", "4100 W"),
        ("0.195", "$\\mathrm{Pa}$", "0.195 N/m^2", "0.195 N"),
        ("-0.041", "$\\mathrm{~V}$", "-41 mV", "-41 mA"),
        ("14.34", "$\\mathrm{cm^2}$", "0.001434 m^2", "0.1434 m"),
        ("1000", "$\\mathrm{~m} / \\mathrm{s}$", "1 km/s", "1 km"),
        ("41.56", "{\\mathrm{{rad}}/\\mathrm{m}}", "0.4156 rad/cm", "41.56 rad/s"),
        ("2.63 \\times 10^{8}", "{\\mathrm{g}}", "2.63 \\times 10^{5} kg", "2.63 \\times 10^{5} m"),
        ("2.57 \\times 10^{13}", "\\mathrm{\\;m}", "2.57 \\times 10^{10} km", "2.57 \\times 10^{10} s"),
        ("0.11", "\\mathrm{\\;{kJ}}", "110 J", "110 N"),
    ]
    for value, unit, good, bad in sci:
        out.append(("physics", "\\boxed{%s}" % good, value, {"unit": unit}, True))
        out.append(("physics", "\\boxed{%s}" % bad, value, {"unit": unit}, False))
        out.append(("physics", "\\boxed{%s}" % value, value, {"unit": unit}, True))
    # choice: every letter and multi-select spelling against every key
    for key in ["A", "B", "C", "D", "AB", "BD", "ACD"]:
        spellings = [key, ", ".join(key), " and ".join(f"({c})" for c in key)]
        for s in spellings:
            out.append(("choice", "Answer: %s" % s, key, {}, True))
            out.append(("choice", "\\boxed{%s}" % s, key, {}, True))
        wrong = "".join(sorted(set("ABCD") - set(key)))[:2] or "A"
        out.append(("choice", "\\boxed{%s}" % wrong, key, {}, False))
        out.append(("choice", "\\boxed{%s}" % (key + "E"), key, {}, False))
    # text: case, articles, punctuation, wrappers
    for word in ["Evelyn", "east", "even", "odd", "ellipse", "Monday", "parabola", "circle", "hyperbola", "Bob"]:
        for s in [word, word.upper(), f"\\text{{{word}}}", f"the {word}.", f"\\textbf{{{word}}}"]:
            out.append(("text", "\\boxed{%s}" % s, f"\\text{{{word}}}", {}, True))
        out.append(("text", "\\boxed{%s}" % (word + "s"), f"\\text{{{word}}}", {}, False))
        out.append(("text", "\\boxed{not %s}" % word, f"\\text{{{word}}}", {}, False))
    return out


CASES: list[Case] = _HAND + _generated()


def request_of(case: Case) -> VerifyRequest:
    _, response, answer, options, _ = case
    return VerifyRequest(response, answer, **options)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_case(case: Case) -> None:
    verdict = verify_inline(request_of(case))
    assert verdict.correct is case[4], verdict


def test_table_is_large_and_balanced() -> None:
    assert len(CASES) >= 300
    for category in {c[0] for c in CASES}:
        rows = [c for c in CASES if c[0] == category]
        assert any(c[4] for c in rows) and any(not c[4] for c in rows), category
