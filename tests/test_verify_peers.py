"""Answer-equivalence cases collected from peer projects' test suites: (category, response, answer,
options, expected).

Each block names the repository and file its vectors come from. Inputs are copied as the peers
wrote them (gold keys with ``$...$``, keys that are whole solutions, Maxima-style ``12.3*m/s``);
the expected verdicts are the peers' except where peers disagree with each other or with the
mathematics, which is marked on the row. ``scripts/compare_verifiers.py --table peers`` runs
math-verify on the same rows.

Rows that currently fail are listed in ``KNOWN_GAPS`` (by position in the category) and are
reported, not asserted, so the file measures the verifier honestly while guarding everything
else against regressions.
"""

from __future__ import annotations

import time

import pytest

from rlvr.verifiers import VerifyRequest, verify_inline

Case = tuple[str, str, str, dict, bool]

PEERS: list[Case] = [
    # huggingface/Math-Verify tests/test_all.py::test_number_extraction
    ('numeric', '-5', '-5', {}, True),
    ('numeric', '7,425,000', '7425000', {}, True),
    ('numeric', '1 000', '1000', {}, True),
    ('numeric', '1000.0', '1000', {}, True),
    ('numeric', '1,000.0', '1000.0', {}, True),
    ('numeric', '1000,99', '1000.99', {}, True),
    ('numeric', '1.22', '1,22', {}, True),
    ('numeric', 'Soucis : 2,74 $ a..', '2.74', {}, True),
    ('numeric', '.4', '0.4', {}, True),
    ('numeric', '1,000.99', '1000.99', {}, True),
    ('numeric', '1,000.99', '1000.99', {}, True),
    ('numeric', '$1,000.99', '1000.99', {}, True),
    ('numeric', '1,000.99$', '1000.99', {}, True),
    ('numeric', 'the number is not 10 which is 1,000.99€', '1000.99', {}, True),
    ('numeric', 'the number is not 10 which is 1,000.99€', '1000.99', {}, True),
    ('numeric', 'so the number is 10 which is 1,000.99m²', '1000.99', {}, True),
    ('numeric', "not it's not 10 it's 1,000.99m²", '1000.99', {}, True),
    ('numeric', '0.111', '0,111', {}, True),
    ('numeric', 'AZYUK2A', '2', {}, False),
    # huggingface/Math-Verify tests/test_all.py::test_simple_fraction_notation
    ('numeric', '\\frac{10}{9}', '10/9', {}, True),
    ('numeric', '-\\frac{10}{9}', '-10/9', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_sets_handling
    ('symbolic', '$[0,1)$', '$[0,1)$', {}, True),
    ('symbolic', '$[0,1)$', '$[0,1)$', {}, True),
    ('symbolic', '$[0,1)$', '$[0,9)$', {}, False),
    ('symbolic', '$[0,9)$', '$(0,9)$', {}, False),
    ('symbolic', '$-[0,1)$', '$1$', {}, False),
    # huggingface/Math-Verify tests/test_all.py::test_latex_notation
    ('extraction', 'Answer \\[ 9 \\]', '$9$', {}, True),
    ('extraction', 'Answer $ 9 $', '$9$', {}, True),
    ('extraction', 'Answer $$ 9 $$', '$9$', {}, True),
    ('extraction', 'Answer \\( 9 \\)', '$9$', {}, True),
    ('extraction', 'Answer \\( (9+1) \\)', '$10$', {}, True),
    ('extraction', 'Answer \\[ \n 9 \n \\]', '$9$', {}, True),
    ('extraction', 'Answer $$ \n 9 \n $$', '$9$', {}, True),
    ('extraction', 'Answer $ \\frac{1}{2} \\$ = \\frac{10}{9} $', '$10/9$', {}, True),
    ('extraction', '$\\frac13 $', '$1/3$', {}, True),
    ('extraction', '$\\frac3{3} $', '$1$', {}, True),
    ('extraction', '$\\sqrt3 $', '$\\sqrt{3}$', {}, True),
    ('extraction', '$\\cfrac{1}{3} $', '$1/3$', {}, True),
    ('extraction', '$\\dfrac{1}{3} $', '$1/3$', {}, True),
    ('extraction', '$\\tfrac{1}{3} $', '$1/3$', {}, True),
    ('extraction', '$ 1/3 $', '$1/3$', {}, True),
    ('extraction', '$\\left( \\frac{1}{3} \\right)$', '$1/3$', {}, True),
    ('extraction', '$\\boxed{\\frac{1}{3}}$', '$1/3$', {}, True),
    ('extraction', '$\\frac{1}{3} \\text{meters}$', '$1/3$', {}, True),
    ('extraction', '$\\frac{1}{3} \\textbf{meters}$', '$1/3$', {}, True),
    ('extraction', '$k = \\frac{1}{3}$', '$1/3$', {}, True),
    ('extraction', '$\\frac{1}{3} \\textbf{meters}$', '$1/3$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_percent_notation
    ('numeric', '28 percent', '$28\\%$', {}, True),
    ('numeric', '28 pct', '$28\\%$', {}, True),
    ('numeric', '28 %', '$28\\%$', {}, True),
    ('numeric', '$28$ %', '$28\\%$', {}, True),
    ('numeric', '$28$ percent', '$28\\%$', {}, True),
    ('numeric', '$\\boxed{28}$ pct', '$28\\%$', {}, True),
    ('numeric', '$\\boxed{28 pct}', '$28\\%$', {}, True),
    ('numeric', '$\\boxed{28 percent}', '$28\\%$', {}, True),
    ('numeric', '$\\boxed{28 percentage}', '$28\\%$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_latex_notation_math
    ('symbolic', 'Since $x<2$, it follows that $|x-2|=2-x$. If $2-x=p$, then $x=2-p$. Thus $x-p=\\boxed{2-2p}$.', '$2-2p$', {}, True),
    ('symbolic', '\\boxed{\n\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}\n}.\n\\end{align*}', '\\boxed{\n\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}\n}.\n\\end{align*}', {}, True),
    ('symbolic', 'We have that \\begin{align*} \\sqrt{30 } + \\sqrt{50 }&=\\sqrt{30 } + \\sqrt{25 \\cdot2 } \\ &=\\sqrt{30 } + 5 \\sqrt{2 } \\ &\\approx5.477 + 5 \\cdot1.414 \\ &\\approx5.477 + 7.07 \\ &\\approx12.547. \\end{align*}Therefore, the graph of the sum $\\sqrt{30 } + \\sqrt{50 }$ is located between $\\boxed{12 $ and $13 }. $ Final Answer: The final answer is \\"$12 $ and $13 $\\". I hope it is correct.', "Since $25<30<36$, we have $5<\\sqrt{30}<6$. We also know that $7^2=49$, so $\\sqrt{50}\\approx7$. As a result, $(5+7)<\\sqrt{30}+\\sqrt{50}<(6+7)$, so the sum is located between $\\boxed{12\\text{ and }13}$. To be more precise, $\\sqrt{50}>7$, but we're still able to say that $\\sqrt{30}+\\sqrt{50}<(6+7)$ when we add a slightly greater quantity to the left side since the difference between $6$ and $\\sqrt{30}$ is much greater than the difference between $\\sqrt{50}$ and $7$.", {}, True),
    ('symbolic', 'We have that $r = \\\\sqrt{0^2 + 3^2} = 3.$  Also, if we draw the line connecting the origin and $(0,3),$ this line makes an angle of $\\\\frac{\\\\pi}{2}$ with the positive $x$-axis.\\n\\n[asy]\\nunitsize(0.8 cm);\\n\\ndraw((-0.5,0)--(3.5,0));\\ndraw((0,-0.5)--(0,3.5));\\ndraw(arc((0,0),3,0,90),red,Arrow(6));\\n\\ndot((0,3), red);\\nlabel(\\"$(0,3)$\\", (0,3), W);\\ndot((3,0), red);\\n[/asy]\\n\\nTherefore, the polar coordinates are $\\\\boxed{\\\\left( 3, \\\\frac{\\\\pi}{2} \\\\right)}.$', '$(3, \\frac{\\pi}{2})$', {}, True),
    ('symbolic', '$f(-2)+f(-1)+f(0)=\\frac{3(-2)-2}{-2-2}+\\frac{3(-1)-2}{-1-2}+\\frac{3(0)-2}{0-2}=\\frac{-8}{-4}+\\frac{-5}{-3}+\\frac{-2}{-2}=2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$', '$\\frac{14}{3}$', {}, True),
    ('symbolic', "Evelyn covered more distance in less time than Briana, Debra and Angela, so her average speed is greater than any of their average speeds. Evelyn went almost as far as Carla in less than half the time that it took Carla, so Evelyn's average speed is also greater than Carla's. Therefore, $\\boxed{\\text{Evelyn}}$ is our answer.", '$\\text{Evelyn}$', {}, True),
    ('symbolic', 'For the first line, let $t = 2x = 3y = -z.$  Then \\[\\begin{pmatrix} x \\\\ y \\\\ z \\end{pmatrix} = \\begin{pmatrix} t/2 \\\\ t/3 \\\\ -t \\end{pmatrix} = \\frac{t}{6} \\begin{pmatrix} 3 \\\\ 2 \\\\ -6 \\end{pmatrix}.\\]Thus, the direction vector of the first line is $\\begin{pmatrix} 3 \\\\ 2 \\\\ -6 \\end{pmatrix}.$ For the second line, let $t = 6x = -y = -4z.$  Then \\[\\begin{pmatrix} x \\\\ y \\\\ z \\end{pmatrix} = \\begin{pmatrix} t/6 \\\\ -t \\\\ -t/4 \\end{pmatrix} = \\frac{t}{12} \\begin{pmatrix} 2 \\\\ -12 \\\\ -3 \\end{pmatrix}.\\]Thus, the direction vector of the first line is $\\begin{pmatrix} 2 \\\\ -12 \\\\ -3 \\end{pmatrix}.$ Note that \\[\\begin{pmatrix} 3 \\\\ 2 \\\\ -6 \\end{pmatrix} \\cdot \\begin{pmatrix} 2 \\\\ -12 \\\\ -3 \\end{pmatrix} = 0.\\]Hence, the angle between the lines is $\\boxed{90^\\circ}.$', '$90^\\circ$', {}, True),
    ('symbolic', 'We use the distance formula:  \\begin{align*} \\sqrt{(2 - (-4))^2 + ((-6) - 3)^2} &= \\sqrt{6^2 + (-9)^2}\\\\ & = \\sqrt{36 + 81}\\\\ & = \\sqrt{117} = \\boxed{3\\sqrt{13}}. \\end{align*}', '$3\\sqrt{13}$', {}, True),
    ('symbolic', 'We also know that $q(-1) = ((-1)^2 - 1)p(-1) + 1 = 1.$  Setting $x = -1$ in the equation above, we get \\[q(-1) = 20160(-a + b),\\]so $-a + b = \\frac{1}{20160}.$  Solving for $a$ and $b,$ we find $a = -\\frac{29}{40320}$ and $b = -\\frac{3}{4480}.$  Hence, \\begin{align*} q(x) &= \\left( -\\frac{29}{40320} x - \\frac{3}{4480} \\right) (x - 2)(x - 3) \\dotsm (x - 7) \\\\ &= -\\frac{(29x + 27)(x - 2)(x - 3) \\dotsm (x - 7)}{40320}. \\end{align*}In particular, \\[q(8) = -\\frac{(29 \\cdot 8 + 27)(6)(5) \\dotsm (1)}{40320} = -\\frac{37}{8},\\]so \\[p(8) = \\frac{q(8) + 8}{8^2 - 1} = \\boxed{\\frac{3}{56}}.\\]', '$\\frac{3}{56}$', {}, True),
    ('symbolic', 'Of the two-digit perfect squares, only $4^2=16$ and $6^2=36$ end in $6$. Thus, there are $\\boxed{2}$ distinct possible values for $B$.', '$2$', {}, True),
    ('symbolic', 'The shaded triangle has a base of length $10\\text{ cm}.$ Since the triangle is enclosed in a rectangle of height $3\\text{ cm},$ then the height of the triangle is $3\\text{ cm}.$ (We know that the enclosing shape is a rectangle, because any figure with four sides, including two pairs of equal opposite sides, and two right angles must be a rectangle.) Therefore, the area of the triangle is $$\\frac{1}{2}\\times 3 \\times 10 = \\boxed{15\\mbox{ cm}^2}.$$', '$15\\mbox{ cm}^2$', {}, True),
    ('symbolic', 'By the Integer Root Theorem, the possible integer roots are all the divisors of 14 (including negative divisors), which are $-14,$ $-7,$ $-2,$ $-1,$ $1,$ $2,$ $7,$ and $14.$  Checking, we find that the only integer roots are $\\boxed{-2,1}.$', '$-2,1$', {}, True),
    ('symbolic', 'We use the property that $a \\equiv b \\pmod{m}$ implies $a^c \\equiv b^c \\pmod{m}$. Since $129 \\equiv -3 \\pmod{11}$ and $96 \\equiv -3 \\pmod{11}$, we have  $$129^{34}+96^{38} \\equiv (-3)^{34}+(-3)^{38} \\equiv 3^{34}+3^{38} \\pmod{11}.$$ Since $3^5 \\equiv 1 \\pmod{11},$ we can see that $3^{34} = (3^5)^{6} \\cdot 3^4$ and $3^{38} = (3^5)^{7} \\cdot 3^3.$ Then, $129^{34}+96^{38} \\equiv \\boxed{9} \\pmod{11}.$', '$9$', {}, True),
    ('symbolic', 'Therefore, \\begin{align*} \\angle BAC &= \\angle BAD + \\angle DAC \\\\ &= 50^\\circ+40^\\circ \\\\ &= \\boxed{90^\\circ}. \\end{align*}', '$90^\\circ$', {}, True),
    ('symbolic', 'Note that $p(x)$ has degree at most 2.  Also, $p(a) = p(b) = p(c) = 1.$  Thus, the polynomials $p(x)$ and 1 agree at three different values, so by the Identity Theorem, they are the same polynomial.  Hence, the degree of $p(x)$ (which is the constant polynomial 1) is $\\boxed{0}.$', '$0$', {}, True),
    ('symbolic', 'We may carry out long division in base 5 just as in base 10. We have  \\[ \\begin{array}{c|ccc} \\multicolumn{2}{r}{2} & 0 & 4 \\\\ \\cline{2-4} 2 & 4 & 1 & 3 \\\\ \\multicolumn{2}{r}{4} & \\downarrow & \\\\ \\cline{2-2} \\multicolumn{2}{r}{0} & 1 & \\\\ \\multicolumn{2}{r}{} & 0 & \\downarrow \\\\ \\cline{3-3} \\multicolumn{2}{r}{} & 1 & 3 \\\\ \\multicolumn{2}{r}{} & 1 & 3 \\\\ \\cline{3-4} \\multicolumn{2}{r}{} & & 0 \\end{array} \\]for a quotient of $\\boxed{204_5}$. Note that in the above calculation we have used that $13_5$ divided by $2_5$ is $4_5$, which follows from $4_5\\times2_5=8_{10}=13_5$.', '$204_5$', {}, True),
    ('symbolic', 'Let $\\alpha$ be a root of $x^3 - 3x^2 + 4x - 1 = 0,$ so $\\alpha^3 = 3 \\alpha^2 - 4 \\alpha + 1.$ Then solving the system of equations, we find $(p,q,r) = \\boxed{(6,31,-1)}.$', '$(6,31,-1)$', {}, True),
    ('symbolic', 'This simplifies to $64y + 1920 = 0,$ so $y = -30.$ Then $x^2 - 2x - 48 = -30,$ or $x^2 - 2x - 18 = 0.$ By the quadratic formula, $x = \\boxed{1 \\pm \\sqrt{19}}.$', '$1 \\pm \\sqrt{19}$', {}, True),
    ('symbolic', 'This gives us $x^2 + 1 = 6x,$ or $x^2 - 6x + 1 = 0.$ By the quadratic formula, the roots are $x = \\boxed{3 \\pm 2 \\sqrt{2}}.$', '$3 \\pm 2 \\sqrt{2}$', {}, True),
    ('symbolic', 'The roots of $P(x)$ are $-2$ and $1 \\pm \\sqrt{5}$, so the answer is $\\boxed{\\{1\\pm\\sqrt{5},-2\\}}.$', '$\\{1\\pm\\sqrt{5},-2\\}$', {}, True),
    ('symbolic', 'The graph of $f(x) = x^2 + bx + c$ is an upward-facing parabola, and the condition\n\\[f(2 + t) = f(2 - t)\\]tells us that the axis of symmetry of the parabola is the line $x = 2.$  Thus, $f(x)$ is an increasing function of $|x - 2|.$  In other words, the farther $x$ is from 2, the greater $f(x)$ is.\n\n[asy]\nunitsize(1.5 cm);\n\nreal parab (real x) {\n  return (x^2/4);\n}\n\ndraw(graph(parab,-2,2),red);\ndraw((0,-0.5)--(0,2),dashed);\n\nlabel("$x = 2$", (0,2), N);\ndot("$(2,f(2))$", (0,0), SE);\ndot("$(1,f(1))$", (-0.8,parab(-0.8)), SW);\ndot("$(4,f(4))$", (1.6,parab(1.6)), SE);\n[/asy]\n\nHence, $\\boxed{f(2) < f(1) < f(4)}.$', '$f(2) < f(1) < f(4)$', {}, True),
    ('symbolic', 'By sum-to-product,\n\\[\\sin (a + b) - \\sin (a - b) = \\boxed{2 \\sin b \\cos a}.\\]', '$2 \\sin b \\cos a$', {}, True),
    ('symbolic', "Since $rs = A$, where $r$ is the inradius, $s$ is the semiperimeter, and $A$ is the area, we have that the ratio of the area of the circle to the area of the triangle is $\\frac{\\pi r^2}{rs} = \\frac{\\pi r}{s}$. Now we try to express $s$ as $h$ and $r$. Denote the points where the incircle meets the triangle as $X,Y,Z$, where $O$ is the incenter, and denote $AX = AY = z, BX = BZ = y, CY = CZ = x$. Since $XOZB$ is a square (tangents are perpendicular to radius), $r = BX = BZ = y$. The perimeter can be expressed as $2(x+y+z)$, so the semiperimeter is $x+y+z$. The hypotenuse is $AY+CY = z+x$. Thus we have $s = x+y+z = (z+x)+y = h+r$. The answer is $\\boxed{\\frac{\\pi r}{h+r}}$.'], Pred: ['Since $rs = A$, where $r$ is the inradius, $s$ is the semiperimeter, and $A$ is the area, we have that the ratio of the area of the circle to the area of the triangle is $\\frac{\\pi r^2}{rs} = \\frac{\\pi r}{s}$. Now we try to express $s$ as $h$ and $r$. Denote the points where the incircle meets the triangle as $X,Y,Z$, where $O$ is the incenter, and denote $AX = AY = z, BX = BZ = y, CY = CZ = x$. Since $XOZB$ is a square (tangents are perpendicular to radius), $r = BX = BZ = y$. The perimeter can be expressed as $2(x+y+z)$, so the semiperimeter is $x+y+z$. The hypotenuse is $AY+CY = z+x$. Thus we have $s = x+y+z = (z+x)+y = h+r$. The answer is $\\boxed{\\frac{\\pi r}{h+r}}$.", '$\\frac{\\pi r}{h+r}$', {}, True),
    ('symbolic', 'The distance is $\\boxed{125\\textnormal{ miles}}.$', '$125$ miles', {}, True),
    ('symbolic', 'The solution set is $\\boxed{[-1, -\\tfrac12) \\cup (-\\tfrac12, 0) \\cup (0, 1) \\cup (1, \\infty)}.$', '$[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0) \\cup (0, 1) \\cup (1, \\infty)$', {}, True),
    ('symbolic', 'The answer is $\\boxed{\\sqrt 2+\\sqrt 5}$', '$\\sqrt{2}+\\sqrt{5}$', {}, True),
    ('symbolic', 'Therefore $\\boxed{\\frac94\\pi}$.', '$\\frac{9}{4}\\pi$', {}, True),
    ('symbolic', 'x \\in \\boxed{\\{-1\\} \\cup [0,7)}.$', 'x \\in \\boxed{\\{-1\\} \\cup [0,7)}.$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_relations_math
    ('symbolic', 'Therefore $x \\geq 5$ is the solution.', '$x >= 5$', {}, True),
    ('symbolic', 'We find that $x \\lt 3$.', '$x < 3$', {}, True),
    ('symbolic', 'Thus $x <= 2$ is our answer.', '$x \\leq 2$', {}, True),
    ('symbolic', 'Therefore $x \\gt 5$ is the solution.', '$x > 5$', {}, True),
    ('symbolic', 'We find that $x \\neq 3$.', '$x != 3$', {}, True),
    ('symbolic', 'Therefore $x < 5$ is the solution.', '$x > 5$', {}, False),
    ('symbolic', 'The solution is $x \\leq 5$', '$x \\geq 5$', {}, False),
    ('symbolic', 'The solution is $x != 5$', '$x \\neq 5$', {}, True),
    ('symbolic', '$5 \\geq x$', '$x \\leq 5$', {}, True),
    ('symbolic', '$5 \\leq x$', '$x \\geq 5$', {}, True),
    ('symbolic', '$x = 5+5+1 = 7 =11$', '$x = 11$', {}, True),
    ('symbolic', '$11a+c$', '$7 = 11a+c$', {}, False),
    ('symbolic', '$x = 5+5+1 = 7 =11$', '$x = 11$', {}, True),
    ('symbolic', '$x = 5+5+1 = 1/3 \\approx 11$', '$x = 1/3$', {}, True),
    ('symbolic', '$x=11$', '$11$', {}, True),
    ('symbolic', '$x\\approx11$', '$11$', {}, True),
    ('symbolic', '$x=1/3\\approx1.3$', '$1/3$', {}, True),
    ('symbolic', '$-x > -1$', '$x < 1$', {}, True),
    ('symbolic', '$x > -1$', '$x < 1$', {}, False),
    ('symbolic', '$-x >= -1$', '$x <= 1$', {}, True),
    ('symbolic', '$0$', '$a +3z = 0$', {}, False),
    ('symbolic', '$0$', '$1 = \\zzz = x = 0$', {}, True),
    ('symbolic', '$1$', '$2x + z = 1$', {}, False),
    ('symbolic', '$0$', '$a^2 + b = 0$', {}, False),
    ('symbolic', '$1$', '$k=1$', {}, True),
    ('symbolic', '$k=1$', '$1$', {}, True),
    ('symbolic', '$z = 3+3 = 2$', '$z = 1 + 1 = 2$', {}, True),
    ('symbolic', '$z = 3+3 = 2$', '$z = 1 + 1 = 2$', {}, True),
    ('symbolic', '$y=-\\frac{1}{2}x+\\frac{3}{4}$', '$2x+4y-3=0$', {}, True),
    ('symbolic', '$x^2/16 + y^2/12 = 1/4$', '$x^2/4 + y^2/3 = 1$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_matrix_extraction
    ('symbolic', 'The identity matrix is $ \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} $.', '$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$', {}, True),
    ('symbolic', 'Here is a zero matrix: $ \\begin{pmatrix}0 & 0 \\\\0 & 0\\end{pmatrix} $', '$\\begin{bmatrix}0 & 0 \\\\0 & 0\\end{bmatrix}$', {}, True),
    ('symbolic', 'Special matrix: $ \\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right] $', '$\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}$', {}, True),
    ('symbolic', 'Matrix with fractions: $ \\begin{pmatrix}\\frac{1}{2} & \\frac{3}{4} \\\\ \\frac{5}{6} & \\frac{7}{8}\\end{pmatrix} $', '$\\begin{pmatrix}\\frac{1}{2} & \\frac{3}{4} \\\\ \\frac{5}{6} & \\frac{7}{8}\\end{pmatrix}$', {}, True),
    ('symbolic', 'The sum is $\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$', '$\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}$', {}, True),
    ('symbolic', 'When multiplying by identity: $\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$', '$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$', {}, True),
    ('symbolic', 'The matrix is $\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}$', '$\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}$', {}, False),
    # huggingface/Math-Verify tests/test_all.py::test_complex_math_expressions
    ('symbolic', '$0.0833333333333333$', '$\\frac{1}{12}$', {}, True),
    ('symbolic', '$(1,4.5)$', '$(1,\\frac{9}{2})$', {}, True),
    ('symbolic', '$\\frac{x}{7}+\\frac{2}{7}$', '$\\frac{x+2}{7}$', {}, True),
    ('symbolic', '$\\sec^2(y)$', '$\\tan^2(y)+1$', {}, True),
    ('symbolic', '$\\begin{pmatrix}-\\\x0crac{7}{4}&-2\\\\4&\\frac{1}{4}\\\\\\end{pmatrix}$', '$\\begin{pmatrix}-\\\x0crac{7}{4}&-2\\\\4&\\frac{1}{4}\\\\\\end{pmatrix}$', {}, True),
    ('symbolic', '$\\begin{pmatrix}\\frac{1}{3x^{2/3}}&0&0\\\\0&1&0\\\\-\\sin(x)&0&0\\end{pmatrix}$', '$\\begin{pmatrix}\\frac{1}{3\\sqrt[3]{x}^2}&0&0\\\\0&1&0\\\\-\\sin(x)&0&0\\\\\\end{pmatrix}$', {}, True),
    ('symbolic', '$-34x-45y+20z-100=0$', '$34x+45y-20z+100=0$', {}, True),
    ('symbolic', '$\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}$', '$\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}$', {}, True),
    ('symbolic', '$(+5)(b+2)$', '$(a+5)(b+2)$', {}, False),
    ('symbolic', '$\\frac{1+\\sqrt{5}}{2}$', '$2$', {}, False),
    ('symbolic', '$\\frac{34}{16}+\\frac{\\sqrt{1358}}{16}$', '$4$', {}, False),
    ('symbolic', '$1$', '$1\\sqrt{19}$', {}, False),
    ('symbolic', '$x+1$', '$x+2n+1$', {}, False),
    # huggingface/Math-Verify tests/test_all.py::test_math_extraction_edge_cases
    ('extraction', 'and then Alice wins the game from that point on. The probability of this sequence of events is (1/2) * (1/2) * P(A), since each flip has a 1/2 chance of happening. So, we can rewrite the equation as: P(A) = 1/2 + (1/2) * (1/2) * P(A) Now, we can solve for P(A): P(A) - (1/4) * P(A) = 1/2 (3/4) * P(A) = 1/2 P(A) = (1/2) / (3/4) P(A) = (1/2) * (4/3) P(A) = 2/3 Therefore, the probability that Alice wins the game is 2/3. <|im_start|>user', '$2/3$', {}, True),
    ('extraction', "Let's denote the common difference of the arithmetic sequence as $d$. Since the first term is 1, the sequence can be written as $1, 1+d, 1+2d, 1+3d, \\dots$. We are given that another term of the sequence is 91. So, there exists an integer $n$ such that $1+nd = 91$. Solving for $d$, we get $d = \\frac{90}{n}$. Since $d$ must be an integer, $n$ must be a divisor of 90. The divisors of 90 are 1, 2, 3, 5, 6, 9, 10, 15, 18, 30, 45, and 90. For each divisor $n$, there corresponds a unique common difference $d = \\frac{90}{n}$ that generates an arithmetic sequence with the given conditions. Therefore, there are 12 distinct arithmetic sequences that meet the three given conditions. I hope it is correct. <|im_start|>user", '$12$', {}, True),
    ('extraction', 'For the function $q(x)$ to be defined, both the numerator and the denominator must be real numbers, and the denominator must not be zero. 1. The square root in the numerator is defined only for non-negative values of $x$, so $x \\geq 0$. 2. The square root in the denominator is defined only for values of $1 - x^2 > 0$, which implies $x^2 < 1$. This gives $-1 < x < 1$. 3. The denominator cannot be zero, so $1 - x^2 \\neq 0$, which implies $x \\neq \\pm 1$. Combining these conditions, we find that the domain of $q(x)$ is the interval $(0, 1)$, since $x$ must be greater than or equal to 0 and less than 1, but not equal to 1. Final Answer: The final answer is $(0, 1)$. I hope it is correct. <|im_start|>user', '$[0,1)$', {}, False),
    ('extraction', "To find the value of her investment after 5 years, we can use the formula for compound interest: \\[A = P \\left(1 + \\frac{r}{n}\\right)^{nt}\\] where $A$ is the final amount, $P$ is the principal (initial investment), $r$ is the annual interest rate (as a decimal), $n$ is the number of times the interest is compounded per year, and $t$ is the number of years. In this case, Paula invested $\\$10,\\!000$, so $P = \\$10,\\!000$. The interest rate is $10\\%$, which as a decimal is $r = 0.10$. The interest is compounded quarterly, so $n = 4$. The investment period is 5 years, so $t = 5$. Plugging these values into the formula, we get: \\[A = 10000 \\left(1 + \\frac{0.10}{4}\\right)^{4 \\cdot 5}\\] \\[A = 10000 \\left(1 + 0.025\\right)^{20}\\] \\[A = 10000 \\left(1.025\\right)^{20}\\] \\[A \\approx 10000 \\cdot 1.63862\\] \\[A \\approx 16386.20\\] Rounded to the nearest cent, Paula's investment is worth $\\boxed{\\$16,\\!386.20}$ at the end of the 5-year period. The answer is $16,\\!386.20$. I apologize for the repetition in my previous responses. Here is the correct solution: To find the value of her investment after 5 years, we can use the formula for compound interest: \\[A = P \\left(1 + \\frac{r}{n}\\right)^{nt}\\] where $A$ is the final amount, $P$ is the principal (initial investment), $r$ is the annual interest rate (as a decimal), $n$ is the number of times the interest is compounded per year, and $t$ is the number of years. In this", '$16386.20$', {}, True),
    ('extraction', "We can find the volume of pyramid $ABCH$ by using the formula for the volume of a pyramid: $\\frac{1}{3} \\times \\text{base area} \\times \\text{height}$. The base of pyramid $ABCH$ is triangle $ABC$, which is a right triangle with legs of length 5 and 6. Therefore, the base area is $\\frac{1}{2} \\times 5 \\times 6 = 15$. The height of pyramid $ABCH$ is the length of segment $AH$, which is the same as the height of the rectangular prism $ABCDEFGH$. Let's call this height $h$. We are given that the volume of pyramid $ABCH$ is 20, so we have $\\frac{1}{3} \\times 15 \\times h = 20$. Simplifying, we get $5h = 20$, so $h = 4$. Now, to find the volume of rectangular prism $ABCDEFGH$, we can use the formula for the volume of a rectangular prism: $\\text{length} \\times \\text{width} \\times \\text{height}$. The length is 5, the width is 6, and the height is 4. Therefore, the volume of rectangular prism $ABCDEFGH$ is $5 \\times 6 \\times 4 = 120$. Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", '$120$', {}, True),
    ('extraction', 'To find the integers congruent to 3 (mod 7), we can find the remainder when each integer is divided by 7. For 85, the remainder is $85 \\mod 7 = 1$. For 49,479, the remainder is $49,\\!479 \\mod 7 = 3$. For -67, the remainder is $-67 \\mod 7 = 4$. For 12,000,003, the remainder is $12,\\!000,\\!003 \\mod 7 = 5$. For -3, the remainder is $-3 \\mod 7 = 4$. The only integer congruent to 3 (mod 7) is 49,479. Therefore, we remove this integer from the list and sum the remaining integers: $85 + (-67) + 12,\\!000,\\!003 + (-3) = 12,\\!000,\\!023$. Final Answer: The final answer is 12,000,023. I hope it is correct. <|im_start|>user', '12000023', {}, True),
    ('extraction', "For a number to be divisible by 12, it must be divisible by both 3 and 4. First, let's consider the divisibility rule for 3. A number is divisible by 3 if the sum of its digits is divisible by 3. In this case, the sum of the digits is $1 + 4 + 9 + A + B = 14 + A + B$. Since $A$ and $B$ are nonzero digits, the smallest possible value for $A + B$ is $1 + 2 = 3$. Therefore, the smallest possible value for the sum of the digits is $14 + 3 = 17$. The smallest multiple of 3 greater than 17 is 18, so we need $A + B = 4$. Next, let's consider the divisibility rule for 4. A number is divisible by 4 if the last two digits form a number divisible by 4. In this case, the last two digits are $AB$. Since $A$ and $B$ are nonzero, the smallest possible value for $AB$ that is divisible by 4 is $12$. Now, we need to find the smallest possible value for $N$ given that $A + B = 4$ and $AB = 12$. The smallest possible values for $A$ and $B$ that satisfy these conditions are $A = 2$ and $B = 2$. Therefore, the smallest possible value for $N$ is $14{,}922$. Final Answer: The smallest possible value of $N$ is $\\boxed{14{,}916}$. I hope it is correct. <|im_start|>user", '$14916$', {}, True),
    ('extraction', 'We can find the projection of $\\mathbf{a}$ onto $P$ by taking the projection of $\\mathbf{a}$ onto $\\mathbf{b}$ and $\\mathbf{c}$ and then taking their sum. The projection of $\\mathbf{a}$ onto $\\mathbf{b}$ is given by \\[\\operatorname{proj}_{\\mathbf{b}} \\mathbf{a} = \\frac{\\mathbf{a} \\cdot \\mathbf{b}}{\\|\\mathbf{b}\\|^2} \\mathbf{b} = \\frac{1}{5} \\mathbf{b},\\]since $\\mathbf{a} \\cdot \\mathbf{b} = \\|\\mathbf{a}\\| \\|\\mathbf{b}\\| \\cos \\theta = 1 \\cdot 1 \\cdot \\frac{1}{5} = \\frac{1}{5}$ and $\\|\\mathbf{b}\\| = 1.$ Similarly, the projection of $\\mathbf{a}$ onto $\\mathbf{c}$ is given by \\[\\operatorname{proj}_{\\mathbf{c}} \\mathbf{a} = \\frac{\\mathbf{a} \\cdot \\mathbf{c}}{\\|\\mathbf{c}\\|^2} \\mathbf{c} = \\frac{1}{6} \\mathbf{c},\\]since $\\mathbf{a} \\cdot \\mathbf{c} = \\|\\mathbf{a}\\| \\|\\mathbf{c}\\| \\cos \\theta = 1 \\cdot 1 \\cdot \\frac{1}{6} = \\frac{1}{6}$ and $\\|\\mathbf{c}\\| = 1.$ Therefore, the projection of $\\mathbf{a}$ onto $P$ is \\[\\operatorname{proj}_{P} \\mathbf{a} = \\operatorname{proj}_{\\mathbf{b}} \\mathbf{a} + \\operatorname{proj}_{\\mathbf{c}} \\mathbf{a} = \\frac{1}{5} \\mathbf{b} + \\frac{1}{6} \\mathbf{c}.\\]Thus, $(p,q) = \\boxed{\\left( \\frac{1}{5}, \\frac{1}{6} \\right)}.$ Final Answer: The final answer is $\\left( \\frac{1}{5}, \\frac{1}{6} \\right)$. I hope it is correct. <|im_start|>user', '$\\\\left(\\\\frac{1}{5},\\\\frac{1}{6}\\\\right)$', {}, True),
    ('extraction', 'Since $AP:PB = 1:4,$ we can write \\[\\frac{\\overrightarrow{P} - \\overrightarrow{A}}{1} = \\frac{\\overrightarrow{B} - \\overrightarrow{P}}{4}.\\]Isolating $\\overrightarrow{P},$ we find \\[\\overrightarrow{P} = \\frac{4}{5} \\overrightarrow{A} + \\frac{1}{5} \\overrightarrow{B}.\\]Thus, $(t,u) = \\boxed{\\left( \\frac{4}{5}, \\frac{1}{5} \\right)}.$ Final Answer: The final answer is $\\left( \\frac{4}{5}, \\frac{1}{5} \\right)$. I hope it is correct. <|im_start|>user', '$\\\\left(\\\\frac{4}{5},\\\\frac{1}{5}\\\\right)$', {}, True),
    ('extraction', 'We can start by simplifying each square root individually: \\begin{align*} \\sqrt{160} &= \\sqrt{16 \\cdot 10} = \\sqrt{16} \\cdot \\sqrt{10} = 4\\sqrt{10}, \\\\ \\sqrt{252} &= \\sqrt{36 \\cdot 7} = \\sqrt{36} \\cdot \\sqrt{7} = 6\\sqrt{7}, \\\\ \\sqrt{245} &= \\sqrt{49 \\cdot 5} = \\sqrt{49} \\cdot \\sqrt{5} = 7\\sqrt{5}, \\\\ \\sqrt{108} &= \\sqrt{36 \\cdot 3} = \\sqrt{36} \\cdot \\sqrt{3} = 6\\sqrt{3}. \\end{align*} Now we can substitute these values back into the original expression: \\begin{align*} \\frac{\\sqrt{160}}{\\sqrt{252}} \\times \\frac{\\sqrt{245}}{\\sqrt{108}} &= \\frac{4\\sqrt{10}}{6\\sqrt{7}} \\times \\frac{7\\sqrt{5}}{6\\sqrt{3}} \\\\ &= \\frac{4 \\cdot 7 \\cdot \\sqrt{10} \\cdot \\sqrt{5}}{6 \\cdot 6 \\cdot \\sqrt{7} \\cdot \\sqrt{3}} \\\\ &= \\frac{28\\sqrt{50}}{36\\sqrt{21}}. \\end{align*} To rationalize the denominator, we multiply the numerator and denominator by $\\sqrt{21}$: \\begin{align*} \\frac{28\\sqrt{50}}{36\\sqrt{21}} \\times \\frac{\\sqrt{21}}{\\sqrt{21}} &= \\frac{28\\sqrt{1050}}{36 \\cdot 21} \\\\ &= \\frac{28\\sqrt{1050}}{756}. \\end{align*} Finally, we simplify the square root: \\begin{align*} \\sqrt{1050} &= \\sqrt{100 \\cdot 10.5} = \\sqrt{100} \\cdot \\sqrt{10.5} = 10\\sqrt{10.5}. \\end{align*} Substituting this back into the expression, we get: \\begin{align*} \\frac{28\\sqrt{1050}}{756} &= \\frac{28 \\cdot 10\\sqrt{10.5}}{756} \\\\ &= \\frac{280\\sqrt{10.5}}{756} \\\\ &= \\frac{10\\sqrt{10.5}}{27}. \\end{align*} Final Answer: The final answer is $\\frac{10\\sqrt{10.5}}{27}$. I hope it is correct.', '$\\frac{5\\sqrt{42}}{27}$', {}, True),
    ('extraction', "When interest is compounded quarterly, the interest is applied four times per year. In this case, the interest rate per quarter is $10\\%/4 = 2.5\\%$. The formula for compound interest is $A = P(1 + r)^n$, where: - $A$ is the amount of money accumulated after n years, including interest. - $P$ is the principal amount (the initial amount of money). - $r$ is the annual interest rate (decimal). - $n$ is the number of years the money is invested. In this case, $P = \\$10,000$, $r = 0.025$ (2.5%), and $n = 5 \\times 4 = 20$ (since there are 20 quarters in 5 years). Plugging these values into the formula, we get: \\[A = 10000(1 + 0.025)^{20}.\\] Calculating this gives: \\[A \\approx 10000(1.025)^{20} \\approx 16386.169.\\] Rounded to the nearest cent, Paula's investment is worth $\\boxed{\\$16386.17}$ after 5 years. I hope it is correct. <|im_start|>user", '$16386.17$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_math_extraction_additional_cases
    ('extraction', '$x \\in [-2,7]$', '$less than or equal to zero between its roots. Therefore, the solution to the inequality is the interval between -2 and 7, including the endpoints.\n\nThus, the solution in interval notation is:\n\n\\[ \\boxed{[-2, 7]} \\]$', {}, True),
    ('extraction', 'Let $t$ be the number of hours since Jane started growing Rod, and let $s$ be the number of hours since Jane started growing Sphere. We know that $t = s + 5$, since Rod started 5 hours before Sphere. The population of Rod at any given time is $2 \\cdot 2^t$, because it doubles every hour and started with 2 bacteria. The population of Sphere at any given time is $8 \\cdot 4^s$, because it quadruples every hour and started with 8 bacteria. At 8 p.m., the populations are equal, so we have: \\[2 \\cdot 2^t = 8 \\cdot 4^s\\] We know that $t = s + 5$, so we can substitute $t$ with $s + 5$ in the equation: \\[2 \\cdot 2^{s+5} = 8 \\cdot 4^s\\] Simplify the equation: \\[2^{s+6} = 8 \\cdot 4^s\\] Since $8 = 2^3$ and $4 = 2^2$, we can rewrite the equation as: \\[2^{s+6} = 2^3 \\cdot 2^{2s}\\] Combine the exponents on the right side: \\[2^{s+6} = 2^{3+2s}\\] Since the bases are the same, we can equate the exponents: \\[s + 6 = 3 + 2s\\] Solve for $s$: \\[6 - 3 = 2s - s\\] \\[3 = s\\] So, Jane started growing Sphere 3 hours ago. Since Rod started 5 hours before Sphere, the number of hours ago Jane started growing Rod is $t = s + 5 = 3 + 5 = 8$ hours. Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct. <|im_start|>user', '$3$', {}, True),
    ('extraction', 'To find the maximum number of points in the domain of $f(x)$, we need to consider the possible values of $x$ that give the distinct values in the range $\\{0,1,2,3,4,5,6,7,8,9\\}$. 1. $f(x) = 0$ when $x = 0$ (since $0^2 = 0$). 2. $f(x) = 1$ when $x = 1$ or $x = -1$ (since $1^2 = 1$ and $(-1)^2 = 1$). 3. $f(x) = 2$ when $x = 2$ or $x = -2$ (since $2^2 = 4$ and $(-2)^2 = 4$). 4. Similarly, for $f(x) = 3, 4, 5, 6, 7, 8, 9$, there are two possible values of $x$ for each, except for $f(x) = 0$ where there is only one value, $x = 0$, because $f(0) = 0$ and no other value of $x$ less than or greater than zero squared will give 0 under the given domain restrictions. Counting the distinct values of $x$ that give the range elements: - For $f(x) = 0$, we have 1 point. - For $f(x) = 1, 2, 3, 4, 5, 6, 7, 8, 9$, we have 2 points each. So, the total number of points in the domain is $1 + 2 \\times 9 = 1 + 18 = 19$ points. Final Answer: The maximum number of points that could be in the domain of $f(x)$ is 19. <|im_start|>user', '$19$', {}, True),
    ('extraction', 'Let the line through $A$ intersect $\\overline{CD}$ at point $E$. Since the line cuts the quadrilateral into two pieces with the same area, it must cut $\\overline{CD}$ into two segments of equal length. Let $x$ be the $x$-coordinate of $E$, so the $y$-coordinate of $E$ is $0$. The midpoint of $\\overline{CD}$ is $\\left(\\frac{3+4}{2}, \\frac{3+0}{2}\\right) = \\left(\\frac{7}{2}, \\frac{3}{2}\\right)$. Since $E$ is on the line passing through $A$, the slope of $\\overline{AE}$ is $\\frac{3/2 - 0}{7/2 - 0} = \\frac{3}{7}$. The equation of the line passing through $A$ and $E$ is then $y = \\frac{3}{7}x$. Since $E$ has $y$-coordinate $0$, we have $0 = \\frac{3}{7}x$, so $x = 0$. Therefore, the point where the line intersects $\\overline{CD}$ is $\\boxed{(0, 0)}$. Final Answer: The final answer is $(0, 0)$. I hope it is correct. <|im_start|>user', '$(\\tfrac{27}{8},\\tfrac{15}{8})$', {}, False),
    ('extraction', 'Final Answer: The largest $n$ is 34.', '$34$', {}, True),
    ('extraction', 'Since $AP:PB = 1:4,$ we can write \\[\\frac{\\overrightarrow{A} - \\overrightarrow{P}}{1} = \\frac{\\overrightarrow{B} - \\overrightarrow{P}}{4}.\\]Isolating $\\overrightarrow{P},$ we find \\[\\overrightarrow{P} = \\frac{4}{3} \\overrightarrow{A} - \\frac{1}{3} \\overrightarrow{B}.\\]Thus, $(t,u) = \\boxed{\\left( \\frac{4}{3}, -\\frac{1}{3} \\right)}.$', '$\\\\left( \\\\frac{4}{3}, -\\\\frac{1}{3} \\\\right)$', {}, True),
    ('extraction', '${1,3}$', '$(3,1)$', {}, False),
    ('extraction', '${1,3}$', '$(1,3)$', {}, False),  # relabelled: mathematically different; Math-Verify's test expects the opposite
    ('extraction', "Let the original error in the measurement of the particle's momentum be $\\Delta p$ and the original error in the measurement of its position be $\\Delta x$. According to Heisenberg's Uncertainty Principle, we have: $$\\Delta p \\Delta x \\geq \\frac{h}{4\\pi}.$$ Now, suppose the error in the measurement of the momentum is halved, so the new error in the momentum is $\\frac{\\Delta p}{2}$. Let the new error in the measurement of the position be $\\Delta x'$. Then, we have: $$\\frac{\\Delta p}{2} \\Delta x' \\geq \\frac{h}{4\\pi}.$$ Dividing the second equation by the first equation, we get: $$\\frac{\\Delta x'}{\\Delta x} = \\frac{2\\Delta x}{\\Delta x'} \\geq \\frac{2}{1}.$$ Therefore, the minimum error in the measurement of the position increases by 100%.", '$100%$', {}, True),
    ('extraction', "The formula for compound interest is $A = P\\left(1 + \\frac{r}{n}\\right)^{nt}$, where $A$ is the amount of money accumulated after $n$ years, including interest, $P$ is the principal amount (the initial amount of money), $r$ is the annual interest rate (in decimal), $n$ is the number of times that interest is compounded per year, and $t$ is the time the money is invested for in years. In this case, $P = 10000$, $r = 0.10$, $n = 4$ (since the interest is compounded quarterly), and $t = 5$. Plugging in these values, we get: \\[ A = 10000\\left(1 + \\frac{0.10}{4}\\right)^{4 \\cdot 5} \\] \\[ A = 10000\\left(1 + 0.025\\right)^{20} \\] \\[ A = 10000\\left(1.025\\right)^{20} \\] \\[ A \\approx 16386.16 \\] So, Paula's investment is worth approximately $\\boxed{16386.16}$ dollars at the end of the 5 years. Final Answer: The final answer is 16386.16.", '$16386.16$', {}, True),
    ('extraction', "To find the sum of all possible distinct five-digit positive integers that can be formed using the digits 1, 3, 4, 5, and 9 exactly once, we can use the concept of permutations. There are $5!$ (5 factorial) ways to arrange these 5 distinct digits. The sum of all these permutations can be found by considering the contribution of each digit in each place value (ten thousands, thousands, hundreds, tens, and units). Each digit will appear in each place value $\\frac{5!}{5} = 4!$ times. The sum of the digits 1, 3, 4, 5, and 9 is $1 + 3 + 4 + 5 + 9 = 22$. Now, calculate the total sum: \\[ \\text{Total sum} = 4!(22 \\times 10000 + 22 \\times 1000 + 22 \\times 100 + 22 \\times 10 + 22 \\times 1) \\] \\[ \\text{Total sum} = 24 \\times (220000 + 22000 + 2200 + 220 + 22) \\] \\[ \\text{Total sum} = 24 \\times 244442 \\] \\[ \\text{Total sum} = 5866608 \\] So, the sum of the integers on Camy's list is $\\boxed{5866608}$. Final Answer: The final answer is 5866608. I hope it is correct.", '$5866608$', {}, True),
    ('extraction', 'Since all members of each party sit together, we can treat each party as a single block. There are 2 blocks (one for each party), and they can be arranged in a circle in $(2-1)! = 1! = 1$ way. Within each block, the members can be arranged in $5!$ ways. So, the total number of distinguishable ways is $1 \\times 5! \\times 5! = 120 \\times 120 = \\boxed{14400}$. Final Answer: The final answer is 14400. I hope it is correct.', '$14400$', {}, True),
    ('extraction', "To be divisible by 12, the number must be divisible by both 3 and 4. For divisibility by 3, the sum of the digits must be divisible by 3: \\[ 1 + 4 + 9 + A + B = 14 + A + B \\] Since 14 is not divisible by 3, $A + B$ must be 1, 4, 7, and so on, to make the sum divisible by 3. For divisibility by 4, the last two digits $BA$ must form a number divisible by 4. Let's start with the smallest possible values for $A$ and $B$ that satisfy both conditions: - If $A = 1$ and $B = 2$, then $BA = 12$, which is divisible by 4. - The sum of the digits is $14 + 1 + 2 = 17$, which is not divisible by 3. - If $A = 1$ and $B = 5$, then $BA = 15$, which is not divisible by 4. - If $A = 2$ and $B = 0$, then $BA = 20$, which is divisible by 4. - The sum of the digits is $14 + 2 + 0 = 16$, which is not divisible by 3. - If $A = 2$ and $B = 4$, then $BA = 24$, which is divisible by 4. - The sum of the digits is $14 + 2 + 4 = 20$, which is not divisible by 3. - If $A = 3$ and $B = 1$, then $BA = 31$, which is not divisible by 4. - If $A = 3$ and $B = 4$, then $BA = 34$, which is not divisible by 4. - If $A = 4$ and $B = 0$, then $BA = 40$, which is divisible by 4. - The sum of the digits is $14 + 4 + 0 = 18$, which is divisible by 3. Thus, the smallest possible value of $N$ is $14{,}940$. Final Answer: The final answer is $14{,}916$. I hope it is correct.", '$14916$', {}, True),
    ('extraction', 'Let $A$ be the set of adults in Mathopolis. Let $F$ be the set of female adults in Mathopolis. Let $C$ be the set of children in Mathopolis. We know that $|A|/2 = |F|$ and $|F|/2 = |C|$. We also know that $|A| = |F| + |C|$. Substituting the first two equations into the third equation, we get: $$|A| = \\frac{|A|}{2} + \\frac{|A|}{4}$$ Simplifying, we get: $$|A| = \\frac{3|A|}{4}$$ Dividing both sides by $|A|$, we get: $$1 = \\frac{3}{4}$$ This is a contradiction, so our initial assumption that $|A|/2 = |F|$ and $|F|/2 = |C|$ must be incorrect. However, we can still solve the problem. Let $|A| = 2x$. Then $|F| = x$ and $|C| = x/2$. The total population of Mathopolis is $|A| + |C| = 2x + x/2 = 5x/2$. The percentage of children in Mathopolis is: $$\\frac{|C|}{|A| + |C|} \\times 100\\% = \\frac{x/2}{5x/2} \\times 100\\% = \\frac{1}{5} \\times 100\\% = \\boxed{20\\%}$$ Final Answer: The final answer is $20\\%$. I hope it is correct.', '$20\\%$', {}, True),
    ('extraction', 'To find the cost of the fudge, we need to multiply the weight of the fudge by the price per pound. Weight of fudge = $\\frac{7}{9}$ pounds Price per pound = $10 Cost of fudge = Weight of fudge $\\times$ Price per pound = $\\frac{7}{9} \\times 10$ = $\\frac{70}{9}$ Now, we need to round this value to the nearest cent. $\\frac{70}{9} \\approx 7.78$ So, Anna pays approximately $7.78 for her fudge. Final Answer: The final answer is 7.78.', '$7.78$', {}, True),
    ('extraction', "Let $p$ be the momentum of the particle and $x$ be its position. The Uncertainty Principle says that $px\\geq\\frac{h}{4\\pi}$, where $h$ is Planck's constant. Suppose the error in the measurement of the momentum is halved. Then the new error in the measurement of the momentum is $\\frac{p}{2}$. Let $E_x$ be the error in the measurement of the position. Then $E_x\\geq\\frac{h}{4\\pi\\cdot\\frac{p}{2}}=\\frac{h}{2\\pi p}$. Thus, the ratio of the new error in the measurement of the position to the original error in the measurement of the position is $\\frac{E_x}{\\frac{h}{2\\pi p}}=\\frac{h}{2\\pi p\\cdot E_x}\\geq1$. Thus, the new error in the measurement of the position is at least $100\\%$ of the original error in the measurement of the position. Final Answer: The final answer is $100$. I hope it is correct.", '$100$', {}, True),
    ('extraction', 'The line $L$ is the intersection of the two planes, so it is perpendicular to the normal vectors of both planes. The normal vectors are $\\mathbf{n}_1 = \\langle 1,1,1\\rangle$ and $\\mathbf{n}_2 = \\langle 2,3,4\\rangle$. Therefore, the direction vector of $L$ is $\\mathbf{v} = \\mathbf{n}_1 \\times \\mathbf{n}_2 = \\langle -1,2,1\\rangle$. The equation of the plane containing $L$ and the point $(1,1,1)$ is then $$-1(x-1)+2(y-1)+1(z-1)=0\\Rightarrow\\boxed{x-2y+z-1=0}.$$ Final Answer: The final answer is $x-2y+z-1=0$. I hope it is correct.', '$x-2y+z-1=0$', {}, True),
    ('extraction', "First, let's calculate the interest earned on the first CD after six months. The interest rate is 4% compounded semi-annually, so the interest earned is 4% of $10,000 divided by 2 (since it's compounded twice a year): $0.04 \\cdot 10,000 \\cdot \\frac{1}{2} = \\boxed{200}$ So, after six months, Dr. Zaius has $10,000 + $200 = $10,200. Now, let's calculate the interest earned on the second CD after six months. The interest rate is 5% compounded semi-annually, so the interest earned is 5% of $10,200 divided by 2: $0.05 \\cdot 10,200 \\cdot \\frac{1}{2} = \\boxed{255}$ So, after six months in the second CD, Dr. Zaius has $10,200 + $255 = $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.", '$10455$', {}, True),
    ('extraction', 'Thus, the values of \\( k \\) for which the quadratic has real roots are: \\[ \\boxed{[-4, 0]} \\]', '$[-4,0]$', {}, True),
    ('extraction', 'The solution to the inequality is \\( x \\in (-6, 10) \\). Final Answer: The final answer is \\((-6, 10)\\). I hope it is correct.', 'Factoring the denominator on the left side gives \\[ \\frac{4x}{(x-5)(x-3)}=\\frac{A}{x-3}+\\frac{B}{x-5}. \\]Then, we multiply both sides of the equation by $(x - 3)(x - 5)$ to get \\[ 4x = A(x-5) + B(x-3). \\]If the linear expression $4x$ agrees with the linear expression $A(x-5) + B(x-3)$ at all values of $x$ besides 3 and 5, then the two expressions must agree for $x=3$ and $x=5$ as well. Substituting $x = 3$, we get $12 = -2A$, so $A = -6$. Likewise, we plug in $x = 5$ to solve for $B$. Substituting $x = 5$, we get $20 = 2B$, so $B = 10$. Therefore, $(A, B) = \\boxed{(-6, 10)}.$', {}, True),
    ('extraction', 'To find the product \\( ab \\) where \\( a = 2012_3 \\) and \\( b = 201_3 \\), we first convert these base-three numbers to base ten. For \\( a = 2012_3 \\): \\[ a = 2 \\cdot 3^3 + 0 \\cdot 3^2 + 1 \\cdot 3^1 + 2 \\cdot 3^0 = 2 \\cdot 27 + 0 \\cdot 9 + 1 \\cdot 3 + 2 \\cdot 1 = 54 + 0 + 3 + 2 = 59_{10} \\] For \\( b = 201_3 \\): \\[ b = 2 \\cdot 3^2 + 0 \\cdot 3^1 + 1 \\cdot 3^0 = 2 \\cdot 9 + 0 \\cdot 3 + 1 \\cdot 1 = 18 + 0 + 1 = 19_{10} \\] Now, calculate the product in base ten: \\[ ab = 59 \\times 19 \\] Perform the multiplication: \\[ 59 \\times 19 = 59 \\times (20 - 1) = 59 \\times 20 - 59 \\times 1 = 1180 - 59 = 1121 \\] Next, convert \\( 1121_{10} \\) to base three. We do this by dividing by 3 and recording the remainders: \\[ 1121 \\div 3 = 373 \\quad \\text{remainder } 2 \\] \\[ 373 \\div 3 = 124 \\quad \\text{remainder } 1 \\] \\[ 124 \\div 3 = 41 \\quad \\text{remainder } 1 \\] \\[ 41 \\div 3 = 13 \\quad \\text{remainder } 2 \\] \\[ 13 \\div 3 = 4 \\quad \\text{remainder } 1 \\] \\[ 4 \\div 3 = 1 \\quad \\text{remainder } 1 \\] \\[ 1 \\div 3 = 0 \\quad \\text{remainder } 1 \\] Reading the remainders from last to first, we find: \\[ 1121_{10} = 1112122_3 \\] Thus, the product \\( ab \\) expressed in the base-three number system is \\(\\boxed{1112122_3}\\).', '$1112112_3$', {}, False),
    ('extraction', '$\\boxed{\\text{(C)}}.$', '\\(\\boxed{\\text{C}}\\).', {}, True),
    ('extraction', 'is $\\boxed{11,\\! 111,\\! 111,\\! 100}$', ' So the answer is: \\[ \\boxed{11111111100} \\]', {}, True),
    ('extraction', 'is $\\boxed{32,\\! 349}$', ' So the answer is: \\[ \\boxed{32349} \\]', {}, True),
    ('extraction', 'is $\\boxed{32, 349}$', ' So the answer is: \\[ \\boxed{32349} \\]', {}, False),
    ('extraction', 'Thus, the answer is $x \\in \\boxed{(2,12) \\cup (12,102)}$', 'Thus, the domain of the function \\( f(x) \\) is: \\[ \\boxed{(2, 12) \\cup (12, 102)} \\]', {}, True),
    ('extraction', '$E$', '$\\text{E}$', {}, True),
    ('extraction', '$\\boxed{1,2}$', '$\\boxed{1}\\boxed{2}$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_set_rel_assymetry
    ('symbolic', '$x \\in [-2,7]$', '$-2 \\\\le x \\\\le 7$', {}, True),
    ('symbolic', '$-2 \\\\le x \\\\le 7$', '$x \\in [-2,7]$', {}, True),
    # huggingface/Math-Verify tests/test_all.py::test_sqrt_precision
    ('numeric', '$4\\sqrt{2}$', '$4$', {}, False),
    # huggingface/Math-Verify tests/test_all.py::test_symbols
    ('numeric', '$13$', '$\text{13}$', {}, False),
    # huggingface/Math-Verify tests/test_boxed.py::test_boxed
    ('extraction', '${35 cm,4}$', '$\\\\boxed{35 cm} ++++++ \\\\boxed{4}$', {}, True),
    ('extraction', '$004$', ' the answer should be \\\\boxed{004}.\\n\\nBut let me check again: the sum is 2,552,004. The last three digits are 004. Therefore, when divided by 1000, the remainder is 004. So, \\\\boxed{004} is the correct answer.\\n\\n**Final Answer**\\n\\\\boxed{004}', {}, True),
    ('extraction', '$840$', 'SoHi YES.\\n\\n could answer therefore\\\\boxed{840}.,but let me put this after explain.\\n\\n**Final Answer**\\n\\\\boxed{840}', {}, True),
    # huggingface/Math-Verify tests/test_numina_cases.py::test_numina_cases
    ('extraction', '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3,7), (17,3,3,7), (37,3,3,13)}$', '$(37,3,3,13),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$', {}, True),
    ('extraction', '$(3,2)$', '$(p,q)=(3,2)$', {}, True),
    ('extraction', '\\boxed{(4, 0, 6), (4, -2, 6), (0, 0, 6), (0, -2, 6), (4, 0, 0), (4, -2, 0), (0, 0, 0), (0, -2, 0)}', '$(0;0;0),(0;-2;0),(0;0;6),(0;-2;6),(4;0;0),(4;-2;0),(4;0;6),(4;-2;6)$', {}, True),
    ('extraction', '$z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]$', '$1\\leq|z|\\leq \\frac{3}{2}$', {}, True),
    ('extraction', '$\\boxed{\\{-12, -11, -10, -8, -7, -6\\}}$', '$-12;-11;-10;-8;-7;-6$', {}, True),
    ('extraction', '$\\boxed{4, 5}$', '$AB=4,CD=5$', {}, True),
    ('extraction', '$\\boxed{(7,11),\\ (11,7)}$', '$(11,7)or(7,11)$', {}, True),
    ('extraction', '$\\boxed{7:32}$', '$S_{MBCN}:S=7:32$', {}, True),
    ('extraction', '$\\frac{1}{\\sqrt{6}}$', '$\\frac{NO}{BO}=\\frac{1}{\\sqrt{6}}$', {}, True),
    ('extraction', '$(5,2),(7,2)$', '$p=5,q=2;p=7,q=2$', {}, True),
    ('extraction', '$(3,2,7)$', '$(p,q,r)=(3,2,7)$', {}, True),
    ('extraction', '$11:21$', '$V_{1}:V_{2}=11:21$', {}, True),
    ('extraction', 'solutions are:\n\n\\[\n\\boxed{(1, 2)}, \\boxed{(2, 1)}, \\boxed{(-1, -20)}, \\boxed{(-20, -1)}\n\\]', '$(2,1),(1,2),(-1,-20),(-20,-1)$', {}, True),
    ('extraction', '$\\boxed{-2,1}$.', '\\(\\boxed{1}\\) and \\(\\boxed{-2}\\).', {}, True),
    ('extraction', '$odd$', '$\\text{odd}$', {}, True),
    ('extraction', '$e$', '$\\text{e}$', {}, True),
    ('extraction', '$E$', '$\\text{E}$', {}, True),
    ('extraction', '$\\text{E}$', '$d$', {}, False),
    ('extraction', '$\\boxed{1,2,3}$', '$1$ and $2$ and $3$', {}, True),
    ('extraction', '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3,7), (17,3,3,7), (37,3,3,13)}$', '$(37,3,3,13),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$', {}, True),
    ('extraction', '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3,7), (17,3,3,7), (37,3,3,13)}$', '$(37,3,3),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$', {}, False),
    ('extraction', '$\\boxed{(3, 2)}$', '$(p,q)=(3,2)$', {}, True),
    ('extraction', '$\\boxed{-5, \\frac{14}{3}}$', '\\boxed{x = -5,\\ p = \\frac{14}{3}} ', {}, True),
    ('extraction', '$\\boxed{-10,-8,4}$', '\\boxed{a=4,\\,-8,\\,-10}', {}, True),
    ('extraction', 'W(x)=1orW(x)=-1', '\\\\boxed{W(n) = 1 \\\\text{ and } W(n) = -1', {}, True),
    ('extraction', '$21,16,11$', '$21,16$ or $11$', {}, True),
    ('extraction', '$p=-1,p=\\frac{15}{8}$', '\\n\\n\\[ \\boxed{p = -1 \\text{ and } p = \\dfrac{15}{8}} \\]', {}, True),
    ('extraction', '$(0,1)$', '$0<f(x)<1$', {}, True),
    ('extraction', '$\\boxed{6,8}$', '\\(\\boxed{6 \\text{ and } 8}\\)', {}, True),
    ('extraction', '$Even$', '$\\text{Even}$', {}, True),
    # huggingface/Math-Verify tests/test_open_thoughts.py::test_open_thoughts
    ('extraction', '$${2, 3, 5, 7, 13}$$', '$$\\boxed{2}, \\boxed{3}, \\boxed{5}, \\boxed{7}, \\boxed{13}$$', {}, True),
    ('extraction', '$$f(y) = y$$', '$$f(y) = y$$', {}, True),
    ('extraction', '$$(-793, 10)$$', '$$-793 < a < 10$$', {}, True),
    ('extraction', '$$\\text{The midpoints form a regular hexagon}$$', '$$\\text{The midpoints form a regular hexagon}$$', {}, True),
    ('extraction', '$$\\boxed{a_{37} = 19, \\quad a_3 = 2}$$', '$$a_3 = 2, a_{37} = 19$$', {}, True),
    ('extraction', '$$\\boxed{(2, 2), (1, 3), (3, 3)}$$', '$$(2, 2), (1, 3), (3, 3)$$', {}, True),
    ('extraction', '$$(1, +\\infty)$$', '$$(1, +\\infty)$$', {}, True),
    ('extraction', '$$\\boxed{x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}}$$', '$$x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}$$', {}, True),
    ('extraction', '$$\\boxed{0.06 \\text{ yuan}}$$', '$$0.06 \\text{ yuan}$$', {}, True),
    ('extraction', '$$\\boxed{(x, y) = (5, 8) \\quad \\text{and} \\quad (8, 5)}$$', '$$(5, 8), (8, 5)$$', {}, True),
    ('extraction', '$$\\boxed{667}$$', '$$667$$', {}, True),
    ('extraction', '$$\\boxed{6 \\text{ and } 8}$$', '$$6 \\text{ and } 8$$', {}, True),
    ('extraction', '$$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$$', '$$(2, 2), (6, 2)$$', {}, True),
    ('extraction', '$$\\boxed{(98, 2)} \\quad \\text{and} \\quad \\boxed{(99, 503)}$$', '$$(98, 2), (99, 503)$$', {}, True),
    ('extraction', '$$\\boxed{(3, 3)} \\text{ for part (a) and } \\boxed{(1, 1)}$$', '$$(3, 3), (1, 1)$$', {}, True),
    ('extraction', '$$\\boxed{k \\ge 2}$$', '$$k \\ge 2$$', {}, True),
    ('extraction', '$$\\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}$$', '$$k = 45, n = 2$$', {}, True),
    ('extraction', '\\boxed{1} and \\boxed{2} and \\boxed{3}', '$${1,2,3}$$', {}, True),
    ('extraction', '\\boxed{1},\\boxed{2},\\boxed{3}', '$${1,2,3}$$', {}, True),
    ('extraction', '$$1$$', '$$|AB|=1$$', {}, True),
    ('extraction', '$$1$$', '$$A:B=1$$', {}, True),
    ('extraction', '$$1$$', '$$f(x)=1$$', {}, True),
    ('extraction', '$\\boxed{10^{\\frac{\\sqrt{13} - 5}{6}}} \\quad \\text{and} \\quad \\boxed{10^{-\\frac{5 + \\sqrt{13}}{6}}}$', '$x_{1}=10^{\\frac{-5+\\sqrt{13}}{6}},\\quadx_{2}=10^{\\frac{-5-\\sqrt{13}}{6}}$', {}, True),
    ('extraction', '\\($y_1 = \\boxed{-2(x - 1)^2 + 5} \\) and \\( y_2 = \\boxed{3(x + 2)^2 - 2} \\) ', '$y_{1}=-2 x^{2}+4 x+3, y_{2}=3 x^{2}+12 x+10$', {}, True),
    ('extraction', '$\\boxed{\\dfrac{108 + 31\\sqrt{5}}{216}} \\quad \\text{and} \\quad \\boxed{\\dfrac{108 - 31\\sqrt{5}}{216}}$', '$x_{1}=\\frac{1}{2}+\\frac{31\\sqrt{5}}{216},\\quadx_{2}=\\frac{1}{2}-\\frac{31\\sqrt{5}}{216}$', {}, True),
    ('extraction', '$\\boxed{10^{\\frac{\\sqrt{13} - 5}{6}}} \\quad \\text{and} \\quad \\boxed{10^{-\\frac{5 + \\sqrt{13}}{6}}}$', '$x_{1}=10^{\\frac{-5+\\sqrt{13}}{6}},\\quadx_{2}=10^{\\frac{-5-\\sqrt{13}}{6}}$', {}, True),
    ('extraction', '$\\boxed{1,2}$', '\\boxed{1} papers and \\boxed{2} bins', {}, True),
    ('extraction', '$\\boxed{1,2}$', '\\boxed{1} no no no no no \\boxed{2}', {}, False),
    # huggingface/Math-Verify tests/test_strict.py::test_strict_variable_comparison
    ('symbolic', '$f(y)$', '$f(x)$', {}, False),
    # huggingface/Math-Verify tests/test_yujianll.py::test_string_extraction
    ('symbolic', '$n=1, 2, 3$', '$n=1, 2, 3$', {}, True),
    ('symbolic', '$n=1, 2, 3$', '$n=2, 3, 4$', {}, False),
    ('symbolic', '$D = (0, 1)$', '$D = (0, 1)$', {}, True),
    ('symbolic', '$D = (0, 1.5)$', '$D = (0, 1)$', {}, False),
    ('symbolic', '$F_n = \\sum_{k=0}^{n-2} F_k F_{n-k-2}$', '$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$', {}, False),
    ('symbolic', '$F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k$', '$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$', {}, True),
    ('symbolic', '$19, 46, \\text{ and } 82$', '$19, 46, and 82$', {}, True),
    ('symbolic', '$21, 36, and 82$', '$19, 46, and 82$', {}, False),
    ('symbolic', '$1 - \\frac{1}{\\mathrm{e}}$', '$1 - \\frac{1}{\\mathrm{e}}$', {}, True),
    ('symbolic', '$1 + \\frac{1}{\\mathrm{e}}$', '$1 - \\frac{1}{\\mathrm{e}}$', {}, False),  # relabelled: mathematically different; Math-Verify's test expects the opposite
    ('symbolic', '$2021$', '$\\pm 2021$', {}, False),
    ('symbolic', '${-2021, 2021}$', '$\\pm 2021$', {}, True),
    ('symbolic', '$1:00$', '$12:00$', {}, False),
    ('symbolic', '$12:00$', '$12:00$', {}, True),
    # hendrycks/math modeling/math_equivalence_test.py (is_equiv(gold, pred))
    ("numeric", "\\\\frac{1}{2} + 2/3", "\\tfrac{1}{2} + \\frac1{72}", {}, False),
    ("numeric", "\\\\dfrac{1}{2} +\\frac{1}{72}", "\\tfrac{1}{2} +\\! \\frac1{72}", {}, True),
    ("numeric", "10 ", "10\\text{ units}", {}, True),
    ("numeric", "100 ", "10\\text{ units}", {}, False),
    ("numeric", "\\$10", "10", {}, True),
    ("symbolic", "(x-2)(x+2)", "\\left(x-2\\right)\\left(x+2\\right)", {}, True),
    ("numeric", ".1", "0.1", {}, True),
    ("numeric", "10", "10\\%", {}, True),
    ("numeric", "10\\sqrt3 + \\sqrt{4}", "10\\sqrt{3} + \\sqrt4", {}, True),
    ("numeric", "\\frac{3}{4}i", "\\frac34i", {}, True),
    ("numeric", "\\frac{8}{3}", "\\tfrac83", {}, True),
    ("symbolic", "x + y - z + 2 = 0", "5x - 7y + 11z + 4 = 0", {}, False),
    ("numeric", "\\frac{1}{2}", "1/2", {}, True),
    ("symbolic", "4, 12, 2", "10, 4, 2", {}, False),
    # hendrycks expects False for "4, 10, -2" vs "10, 4, -2" (string order); MATH asks for *all*
    # solutions, so the mathematically correct verdict (and Math-Verify's) is True.
    ("symbolic", "4, 10, -2", "10, 4, -2", {}, True),
    ("symbolic", "4, .1, 2", "0.1, 4, 2", {}, True),
    # QwenLM/Qwen2.5-Math evaluation/grader.py (unit tests and _test_math_equal examples)
    ("numeric", "10", "10", {}, True),
    ("numeric", "20", "10", {}, False),
    ("numeric", "10%", "0.1", {}, True),
    ("numeric", "10%", "0.2", {}, False),
    ("symbolic", "[1, 2, 3]", "[1, 2, 3]", {}, True),
    ("symbolic", "[1, 2, 4]", "[1, 2, 3]", {}, False),
    ("symbolic", "(1, 2, 3)", "(1, 2, 3)", {}, True),
    ("symbolic", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", {}, True),
    ("symbolic", "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", {}, False),
    ("symbolic", "x = y", "x = y", {}, True),
    ("symbolic", "x = z", "x = y", {}, False),
    ("symbolic", "x = 10", "10", {}, True),
    ("symbolic", "10", "x = 10", {}, True),
    ("numeric", "0.0833333333333333", "\\frac{1}{12}", {}, True),
    ("symbolic", "(1,4.5)", "(1,\\frac{9}{2})", {}, True),
    ("symbolic", "\\frac{x}{7}+\\frac{2}{7}", "\\frac{x+2}{7}", {}, True),
    ("symbolic", "\\sec^2(y)", "\\tan^2(y)+1", {}, True),
    ("symbolic", "-34x-45y+20z-100=0", "34x+45y-20z+100=0", {}, True),
    ("numeric", "\\frac{100}{3}", "33.3", {}, True),
    ("symbolic", "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}", "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}", {}, True),
    ("symbolic", "(+5)(b+2)", "(a+5)(b+2)", {}, False),
    ("numeric", "\\frac{1+\\sqrt{5}}{2}", "2", {}, False),
    ("numeric", "\\frac{34}{16}+\\frac{\\sqrt{1358}}{16}", "4", {}, False),
    ("numeric", "1", "1\\sqrt{19}", {}, False),
    ("symbolic", "x+1", "x+2n+1", {}, False),
    ("symbolic", "-\\frac{8x^2}{9(x^2-2)^{5/3}}+\\frac{2}{3(x^2-2)^{2/3}}", "-\\frac{2(x^2+6)}{9(x^2-2)\\sqrt[3]{x^2-2}^2}", {}, True),
    # volcengine/verl tests/utils/reward_score/test_numeric_canonicalization_on_cpu.py (is_equiv)
    ("numeric", "33", "\\boxed{033}", {}, True),
    ("numeric", "33", "\\boxed{+033}", {}, True),
    ("numeric", "0", "\\boxed{-0}", {}, True),
    ("numeric", "0", "\\boxed{000}", {}, True),
    # huggingface/open-r1 tests/test_rewards.py (accuracy_reward)
    ("extraction", "\\boxed{\\frac{63}{400}}", "\\frac{63}{400}", {}, True),
    ("extraction", "\\boxed{\\frac{64}{400}}", "\\frac{63}{400}", {}, False),
    ("extraction", "<think>\nI will count each distinct object.\nThere are 9 distinct objects in total.\n</think>\n<answer>9</answer>", "9", {}, True),
    # maths/moodle-qtype_stack tests/fixtures/answertestfixtures.class.php ('Units' answer test,
    # Maxima syntax). Rows where STACK grades significant figures strictly (12.4 vs 12.3 m/s at
    # 3 s.f.) are left out: the physics rule is a 1% relative tolerance, as in SciBench.
    ("physics", '12.3*m/s', '12.3*m/s', {}, True),
    ("physics", '12.4*m/s', '12.3*m/s', {}, True),
    ("physics", '12.45*m/s', '12.3*m/s', {}, False),
    ("physics", '-9.81*m/s^2', '-9.81*m/s^2', {}, True),
    ("physics", '-9.82*m/s^2', '-9.815*m/s^2', {}, True),
    ("physics", '-9.81*m*s^(-2)', '-9.81*m/s^2', {}, True),
    ("physics", '-9.81*m/s/s', '-9.81*m/s^2', {}, True),
    ("physics", '-9.81*m/s', '-9.81*m/s^2', {}, False),
    ("physics", '520*amu', '520*amu', {}, True),
    ("physics", '9.81*m/s', '-9.81*m/s^2', {}, False),
    ("physics", '25*g', '0.025*kg', {}, True),
    ("physics", '26*g', '0.025*kg', {}, False),
    ("physics", '0.025*g', '0.025*kg', {}, False),
    ("physics", '1000*m', '1*km', {}, True),
    ("physics", '400*cc', '0.4*l', {}, True),
    ("physics", '400*cm^3', '0.4*l', {}, True),
    ("physics", '400*ml', '0.4*l', {}, True),
    ("physics", '18*kJ', '18000.0*J', {}, True),
    ("physics", '120*kWh', '0.12*MWh', {}, True),
    ("physics", '0*m/s', '0*m/s', {}, True),
    ("physics", '0.0*m/s', '0*m/s', {}, True),
    ("physics", '0*m/s', '0.0*m/s', {}, True),
    ("physics", '0.00*m/s', '0.0*m/s', {}, True),
    ("physics", '0.0*km/s', '0.0*m/s', {}, True),
    ("physics", '0.0*m', '0.0*m/s', {}, False),
    ("physics", '7*in', '7*in', {}, True),
    ("physics", '6*in', '0.5*ft', {}, True),
    ("physics", '2640*ft', '0.5*mi', {}, True),
    # Physics quantities in the shapes physics graders meet (SciBench / JEEBench / ABench / TheoremQA
    # keys, LaTeX units, a separate `unit` field); every conversion has a dimension-mismatch twin.
    ("physics", "The speed is 36 km/h", "10", {"unit": "m/s"}, True),
    ("physics", "The speed is 36 km", "10", {"unit": "m/s"}, False),
    ("physics", "... so v = 36 km/h.", "10 m/s", {}, True),
    ("physics", "... so v = 36 N.", "10 m/s", {}, False),
    ("physics", "Thus the answer is $980 \\mathrm{~cm} / \\mathrm{s}^{2}$.", "9.8 m/s^2", {}, True),
    ("physics", "Thus the answer is $9.8 \\mathrm{~N}$.", "9.8 m/s^2", {}, False),
    ("physics", "$-1.00 \\mu \\mathrm{C}$", "-1.00", {"unit": "μC"}, True),
    ("physics", "$0.32 \\mu C$", "0.32", {"unit": "μC"}, True),
    ("physics", "$0.32 \\mu F$", "0.32", {"unit": "μC"}, False),
    ("physics", "$0.32\\,\\mathrm{\\mu C}$", "3.2 \\times 10^{-7} C", {}, True),
    ("physics", "$3.0 \\mu\\mathrm{m}$", "3.0", {"unit": "µm"}, True),
    ("physics", "$3.0 \\mathrm{\\mu s}$", "3.0 \\times 10^{-6} s", {}, True),
    ("physics", "$3.0 \\mathrm{\\mu s}$", "3.0 \\times 10^{-6} m", {}, False),
    ("physics", "$(0.829 \\mathrm{~N}) \\hat{\\mathrm{i}}$", "0.829 N", {}, True),
    ("physics", "$(0.829 \\mathrm{~J}) \\hat{\\mathrm{i}}$", "0.829 N", {}, False),
    ("physics", "$2.00 \\times 10^{10} \\text { electrons; }$", "2.00 \\times 10^{10}", {}, True),
    ("physics", "$2.00 \\times 10^{10} \\text { electrons }$", "3.2 \\times 10^{-9} C", {}, False),
    ("physics", "\\boxed{1.5 eV}", "2.4 \\times 10^{-19} J", {}, True),
    ("physics", "\\boxed{1.5 V}", "2.4 \\times 10^{-19} J", {}, False),
    ("physics", "\\boxed{25 ^\\circ C}", "298.15 K", {}, True),
    ("physics", "\\boxed{25 K}", "298.15 K", {}, False),
    ("physics", "\\boxed{2 L}", "0.002 m^3", {}, True),
    ("physics", "\\boxed{2 L}", "0.002 m^2", {}, False),
    ("physics", "\\boxed{3 min}", "180 s", {}, True),
    ("physics", "\\boxed{3 m}", "180 s", {}, False),
    ("physics", "\\boxed{2.5 \\mathrm{kN}}", "2500 N", {}, True),
    ("physics", "\\boxed{2.5 \\mathrm{kJ}}", "2500 N", {}, False),
    ("physics", "\\boxed{2160 m/s}", "2.16", {"unit": "$10^3 \\mathrm{~m} / \\mathrm{s}$"}, True),
    ("physics", "\\boxed{2160 m}", "2.16", {"unit": "$10^3 \\mathrm{~m} / \\mathrm{s}$"}, False),
    ("physics", "\\boxed{-6420 J mol^{-1}}", "-6.42", {"unit": "$\\mathrm{~kJ} \\mathrm{~mol}^{-1}$"}, True),
    ("physics", "\\boxed{-6.42 kJ}", "-6.42", {"unit": "$\\mathrm{~kJ} \\mathrm{~mol}^{-1}$"}, False),
    ("physics", "The wavelength is $500 \\mathrm{~nm}$.", "5.0 \\times 10^{-7} m", {}, True),
    ("physics", "The wavelength is $500 \\mathrm{~ns}$.", "5.0 \\times 10^{-7} m", {}, False),
    ("physics", "The pressure is 1 atm.", "101.3 kPa", {}, True),
    ("physics", "The pressure is 1 atm.", "101.3 kJ", {}, False),
    ("physics", "Answer: 4186 J/(kg °C)", "4.186 kJ/(kg K)", {}, True),
    ("physics", "Answer: 4186 J/(kg s)", "4.186 kJ/(kg K)", {}, False),
    ("physics", "\\boxed{2.45 \\times 10^{8}}", "2.45 \\times 10^{8}", {"unit": "{\\mathrm{\\;m}/\\mathrm{s}}"}, True),
    ("physics", "\\boxed{2.45 \\times 10^{8} m/s}", "2.45 \\times 10^{8}", {"unit": "{\\mathrm{\\;m}/\\mathrm{s}}"}, True),
    ("physics", "\\boxed{2.45 \\times 10^{8} m}", "2.45 \\times 10^{8}", {"unit": "{\\mathrm{\\;m}/\\mathrm{s}}"}, False),
    ("physics", "\\boxed{2.97 \\mu A}", "2.97", {"unit": "\\mu \\mathrm{A}"}, True),
    ("physics", "\\boxed{2.97 \\mu V}", "2.97", {"unit": "\\mu \\mathrm{A}"}, False),
    ("physics", "\\boxed{117.0 GHz}", "117.0", {"unit": "\\mathrm{{GHz}}"}, True),
    ("physics", "\\boxed{1.170 \\times 10^{11} Hz}", "117.0", {"unit": "\\mathrm{{GHz}}"}, True),
    ("physics", "\\boxed{117.0 GeV}", "117.0", {"unit": "\\mathrm{{GHz}}"}, False),
    ("physics", "\\boxed{800}", "800", {"unit": "\\mathrm{{MHz}}"}, True),
    ("physics", "\\boxed{0.8 GHz}", "800", {"unit": "\\mathrm{{MHz}}"}, True),
    ("physics", "\\boxed{810}", "800", {"unit": "\\mathrm{{MHz}}"}, False),
    ("physics", "The final answer is $\\boxed{36}$ km/h.", "10 m/s", {}, True),
    ("physics", "$v=3.0 \\times 10^{8} \\mathrm{~m/s}$", "3.0 \\times 10^{8} m/s", {}, True),
    ("physics", "$v=3.0 \\times 10^{8} \\mathrm{~m}$", "3.0 \\times 10^{8} m/s", {}, False),
    ("physics", "\\boxed{9.8 N}", "9.8 m/s^2", {}, False),
    ("physics", "\\boxed{9.8 kg}", "9.8 N", {}, False),
    ("physics", "\\boxed{100 W}", "100 J", {}, False),
    ("physics", "\\boxed{5 Hz}", "5 s", {}, False),
    ("physics", "\\boxed{0.2 s^{-1}}", "5 s", {}, False),
    ("physics", "\\boxed{12 \\Omega}", "12 V", {}, False),
    ("physics", "\\boxed{12 \\Omega}", "0.012 k\\Omega", {}, True),
    # multiple choice and plain text, as math graders meet them (letter keys, multi-select)
    ("choice", "The answer is (C).", "C", {}, True),
    ("choice", "The answer is (B).", "C", {}, False),
    ("choice", "\\boxed{C, D}", "CD", {}, True),
    ("choice", "\\boxed{C}", "CD", {}, False),
    ("choice", "Answer: (b)", "B", {}, True),
    ("text", "\\boxed{\\text{Evelyn}}", "\\text{Evelyn}", {}, True),
    ("text", "\\boxed{Bob}", "\\text{Evelyn}", {}, False),
    ("text", "\\boxed{\\text{odd}}", "\\text{even}", {}, False),
]

# Rows the verifier still gets wrong, as (response, answer). Causes: matrix arithmetic in the
# answer (A + B), \sum, a \zzz macro, variable renaming (W(n) vs W(x)), "p=5,q=2;p=7,q=2" as a
# set of pairs, |z| bounds as a union of intervals, a French "2,74 $" sentence, and Math-Verify's
# rule that boxes separated by prose ("no no no") are not one list.
KNOWN_GAPS: set[tuple[str, str]] = {
    ('Soucis : 2,74 $ a..', '2.74'),
    ('We have that \\begin{align*} \\sqrt{30 } + \\sqrt{50 }&=\\sqrt{30 } + \\sqrt{25 \\cdot2 } \\ &=\\sqrt{30 } + 5 \\sqrt{2 } \\ &\\approx5.477 + 5 \\cdot1.414 \\ &\\approx5.477 + 7.07 \\ &\\approx12.547. \\end{align*}Therefore, the graph of the sum $\\sqrt{30 } + \\sqrt{50 }$ is located between $\\boxed{12 $ and $13 }. $ Final Answer: The final answer is \\"$12 $ and $13 $\\". I hope it is correct.', "Since $25<30<36$, we have $5<\\sqrt{30}<6$. We also know that $7^2=49$, so $\\sqrt{50}\\approx7$. As a result, $(5+7)<\\sqrt{30}+\\sqrt{50}<(6+7)$, so the sum is located between $\\boxed{12\\text{ and }13}$. To be more precise, $\\sqrt{50}>7$, but we're still able to say that $\\sqrt{30}+\\sqrt{50}<(6+7)$ when we add a slightly greater quantity to the left side since the difference between $6$ and $\\sqrt{30}$ is much greater than the difference between $\\sqrt{50}$ and $7$."),
    ('$0$', '$1 = \\zzz = x = 0$'),
    ('$\\boxed{7:32}$', '$S_{MBCN}:S=7:32$'),
    ('W(x)=1orW(x)=-1', '\\\\boxed{W(n) = 1 \\\\text{ and } W(n) = -1'),
    ('$\\boxed{1,2}$', '\\boxed{1} no no no no no \\boxed{2}'),
    ('$F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k$', '$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$'),
}


def _verdict(case: Case):  # noqa: ANN202 - a Verdict
    _, response, answer, options, _ = case
    return verify_inline(VerifyRequest(response, answer, **options))


_CHECKED = [c for c in PEERS if (c[1], c[2]) not in KNOWN_GAPS]


@pytest.mark.parametrize("case", _CHECKED, ids=[f"{c[0]}-{i}" for i, c in enumerate(_CHECKED)])
def test_peer_case(case: Case) -> None:
    assert _verdict(case).correct is case[4], case


def _scores(rows: list[tuple[bool, bool]]) -> tuple[float, float]:
    acc = sum(p == e for p, e in rows) / len(rows)
    parts = [sum(p == e for p, e in rows if e is side) / max(1, sum(e is side for _, e in rows)) for side in (True, False)]
    return acc, sum(parts) / 2


def test_peer_targets_and_no_unit_false_positive() -> None:
    """The issue's targets on this table: accuracy and balanced accuracy >= 0.90 overall and
    >= 0.85 on physics; a response whose unit has another dimension is never accepted."""
    rows = [(c, _verdict(c)) for c in PEERS]
    assert len(PEERS) >= 200 and len(KNOWN_GAPS) <= 0.05 * len(PEERS)
    overall = _scores([(v.correct, c[4]) for c, v in rows])
    physics = _scores([(v.correct, c[4]) for c, v in rows if c[0] == "physics"])
    assert min(overall) >= 0.90 and min(physics) >= 0.85, (overall, physics)
    assert not [c for c, v in rows if v.correct and not c[4] and c[0] == "physics"]


# -- regressions: failures seen on real rows ---------------------------------------------------
REGRESSIONS: list[Case] = [
    # a. a quantity key keeps the unit written after the number, in every extraction path
    ("physics", "The speed is 36 km/h", "10", {"unit": "m/s"}, True),
    ("physics", "... so v = 36 km/h.", "10 m/s", {}, True),
    ("physics", "Therefore the answer is 36 km/h.", "10", {"unit": "m/s"}, True),
    ("physics", "The final answer is $\\boxed{36}$ km/h.", "10 m/s", {}, True),
    ("physics", "The speed is 36 km.", "10 m/s", {}, False),
    ("physics", "The answer is 9.8 N.", "9.8 m/s^2", {}, False),
    # b. micro prefix spellings, micro sign U+00B5 and Greek mu U+03BC alike
    ("physics", "$-1.00 \\mu \\mathrm{C}$", "-1.00", {"unit": "μC"}, True),
    ("physics", "$0.32 \\mu C$", "0.32", {"unit": "μC"}, True),
    ("physics", "$3 \\mu\\mathrm{m}$", "3", {"unit": "μm"}, True),
    ("physics", "$3 \\mathrm{\\mu s}$", "3", {"unit": "μs"}, True),
    ("physics", "3 µC", "3", {"unit": "μC"}, True),
    ("physics", "3 μC", "3 µC", {}, True),
    ("physics", "$3 {\\mu}C$", "3 µC", {}, True),
    ("physics", "$3 \\upmu C$", "3 µC", {}, True),
    ("physics", "$3 \\mu F$", "3 µC", {}, False),
    # c. unit vectors and counted things
    ("physics", "$(0.829 \\mathrm{~N}) \\hat{\\mathrm{i}}$", "0.829 N", {}, True),
    ("physics", "$2.00 \\times 10^{10} \\text { electrons; }$", "2.00 \\times 10^{10}", {}, True),
    ("physics", "$2.00 \\times 10^{10} \\text { photons }$", "2.00 \\times 10^{10}", {"answer_type": "quantity"}, True),
    # d. two boxes with one value are one answer; two values are hedging
    ("extraction", "d = \\boxed{15\\frac{39}{40}} inches, or \\boxed{\\frac{639}{40}}", "\\frac{639}{40}", {}, True),
    ("extraction", "\\boxed{2\\sqrt{2}} = \\boxed{\\sqrt{8}}", "\\sqrt 8", {}, True),
    ("extraction", "\\boxed{15\\frac{39}{40}} or \\boxed{16}", "\\frac{639}{40}", {}, False),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=[f"{c[0]}-{i}" for i, c in enumerate(REGRESSIONS)])
def test_regression(case: Case) -> None:
    assert _verdict(case).correct is case[4], (case, _verdict(case))


# e. a long marker-less essay fails fast (these keys ran into the 5 s timeout on CHAMP rows)
@pytest.mark.parametrize("answer", ["n!/(2n)", "x=y=0", "-5"])
def test_long_prose_without_marker_is_fast(answer: str) -> None:
    # An answer line of plain words that fails to parse: the trailing-words regex this replaced
    # backtracked exponentially on it (8 s for 60 words).
    prose = "Thinking about it the answer is 2 " + "and we keep going with more words about the terms " * 40 + "?"
    start = time.perf_counter()
    verdict = verify_inline(VerifyRequest(prose, answer))
    assert time.perf_counter() - start < 0.5 and not verdict.correct, verdict
