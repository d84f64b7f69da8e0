"""Write math_training.txt: arithmetic, percentages, word problems and algebra.

    .venv/bin/python data/specialized/generate_math_data.py

Deterministic (fixed seed). Every number is computed here with exact fractions, the
worked steps are built from the same values, and each answer is checked a second way
(sympy for equations, eval for expressions, brute force where it is cheap) before the
file is written. Each answer ends with a line `Answer: <number>`.
"""
from __future__ import annotations

import math
import random
import re
from fractions import Fraction as F
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 7
PER_KIND = 16
NAMES = ["Maya", "Tom", "Aisha", "Luis", "Priya", "Ben", "Chen", "Sara", "Omar", "Lena", "Kofi", "Ines"]
ITEMS = [("notebook", "notebooks"), ("apple", "apples"), ("ticket", "tickets"), ("pen", "pens"),
         ("candle", "candles"), ("mug", "mugs"), ("plant", "plants"), ("sticker", "stickers")]


def num(x) -> str:
    """Format a number: exactly when it has at most 4 decimals, else rounded to 2."""
    x = F(x)
    if x.denominator == 1:
        return str(x.numerator)
    places = 4 if (x * 10 ** 4).denominator == 1 else 2
    return f"{float(x):.{places}f}".rstrip("0").rstrip(".")


def is_exact(x) -> bool:
    """True when num(x) shows x without rounding."""
    return (F(x) * 10 ** 4).denominator == 1


def signed(coef: int, var: str = "") -> str:
    """' + 3x' or ' - 3x' for a term after the first."""
    return f" {'+' if coef >= 0 else '-'} {abs(coef)}{var}"


def money(x) -> str:
    """Format a money amount with two decimals."""
    return f"${float(F(x)):.2f}"


def arithmetic(r: random.Random):
    a, b = r.randint(12, 999), r.randint(3, 99)
    op = r.choice(["+", "-", "*"])
    expr = f"{a} {op} {b}"
    value = eval(expr)
    q = r.choice([f"What is {expr}?", f"Calculate {expr}.", f"compute {expr}", f"what's {a} {op} {b}"])
    word = {"+": "Add", "-": "Subtract", "*": "Multiply"}[op]
    return q, [f"{word}: {expr} = {value}."], value, value


def order_of_ops(r: random.Random):
    a, b, c, d = r.randint(2, 20), r.randint(2, 12), r.randint(2, 9), r.randint(1, 30)
    expr = f"{a} + {b} * {c} - {d}"
    value = a + b * c - d
    steps = [f"Multiplication first: {b} * {c} = {b * c}.", f"Then {a} + {b * c} - {d} = {value}."]
    q = r.choice([f"Evaluate {expr}.", f"What is {expr}?", f"solve {expr} using order of operations"])
    return q, steps, value, eval(expr)


def division(r: random.Random):
    b = r.randint(3, 40)
    a = b * r.randint(3, 60) + r.choice([0, 0, r.randint(1, b - 1)])
    quotient, rem = divmod(a, b)
    if rem == 0:
        q = r.choice([f"What is {a} divided by {b}?", f"{a} / {b} = ?", f"Divide {a} by {b}."])
        return q, [f"{b} * {quotient} = {a}, so {a} / {b} = {quotient}."], quotient, a / b
    q = f"What is the remainder when {a} is divided by {b}?"
    return q, [f"{b} * {quotient} = {b * quotient}.", f"{a} - {b * quotient} = {rem}."], rem, a % b


def percent_of(r: random.Random):
    p, base = r.choice([5, 10, 12, 15, 20, 25, 30, 35, 40, 45, 60, 75, 80]), r.randint(2, 90) * 10
    value = F(p, 100) * base
    q = r.choice([f"What is {p}% of {base}?", f"what's {p} percent of {base}", f"Find {p}% of {base}."])
    return q, [f"{p}% = {num(F(p, 100))}.", f"{num(F(p, 100))} * {base} = {num(value)}."], value, p * base / 100


def discount(r: random.Random):
    price, p = r.randint(8, 200), r.choice([10, 15, 20, 25, 30, 40, 50])
    off = F(price * p, 100)
    value = price - off
    item = r.choice(["jacket", "lamp", "pair of shoes", "backpack", "board game", "blender"])
    q = f"A {item} costs ${price} and is {p}% off. What is the sale price?"
    steps = [f"Discount: {p}% of {price} = {num(off)}.", f"Sale price: {price} - {num(off)} = {num(value)}."]
    return q, steps, value, price * (100 - p) / 100


def tip(r: random.Random):
    bill, p = F(r.randint(1500, 12000), 100), r.choice([15, 18, 20, 25])
    tip_amount = bill * F(p, 100)
    value = F(math.floor(tip_amount * 100 + F(1, 2)), 100)  # round half up to the cent
    art = "an" if p in (18, 80, 8, 11) else "a"
    q = r.choice([f"How much is {art} {p}% tip on a {money(bill)} bill?", f"What's {art} {p} percent tip on {money(bill)}?"])
    steps = [f"{money(bill)} * {num(F(p, 100))} = {num(tip_amount)}."]
    if value != tip_amount:
        steps[0] = f"{money(bill)} * {num(F(p, 100))} = {float(tip_amount):g}."
        steps.append(f"Rounded to the cent: {money(value)}.")
    cents = round(float(bill) * 100)
    return q, steps, value, (cents * p + 50) // 100 / 100


def percent_change(r: random.Random):
    old = r.randint(1, 40) * 20  # a multiple of 20 keeps every change a whole number
    new = old + old * r.choice([-40, -25, -20, -10, 10, 20, 25, 50, 60, 75]) // 100
    change = F(new - old, old) * 100
    word = "increase" if new > old else "decrease"
    q = r.choice([f"A price goes from ${old} to ${new}. What is the percent change?",
                  f"What is the percentage change from {old} to {new}?"])
    steps = [f"Change: {new} - {old} = {new - old}.", f"{new - old} / {old} * 100 = {num(change)}% ({word})."]
    return q, steps, change, (new - old) / old * 100


def linear_equation(r: random.Random):
    import sympy
    a, x, b = r.randint(2, 12), r.randint(-10, 20), r.randint(-30, 30)
    c = a * x + b
    sign = "+" if b >= 0 else "-"
    eq = f"{a}x {sign} {abs(b)} = {c}"
    steps = [f"{'Subtract' if b >= 0 else 'Add'} {abs(b)} on both sides: {a}x = {c - b}.", f"Divide by {a}: x = {x}."]
    q = r.choice([f"Solve {eq}.", f"solve for x: {eq}", f"Find x if {eq}."])
    sym = sympy.Symbol("x")
    return q, steps, x, sympy.solve(sympy.Eq(a * sym + b, c), sym)[0]


def system(r: random.Random):
    import sympy
    x, y = r.randint(1, 15), r.randint(1, 15)
    s, d = x + y, x - y
    q = f"Solve the system x + y = {s} and x - y = {d}. What is x?"
    steps = [f"Add the equations: 2x = {s + d}.", f"x = {x} (and y = {s} - {x} = {y})."]
    sx, sy = sympy.symbols("x y")
    sol = sympy.solve([sx + sy - s, sx - sy - d], [sx, sy])
    return q, steps, x, sol[sx]


def quadratic(r: random.Random):
    import sympy
    p, q_ = sorted(r.sample([n for n in range(-9, 12) if n != 0], 2))
    b, c = -(p + q_), p * q_
    poly = f"x^2{signed(b, 'x')}{signed(c)} = 0"
    q = f"What is the larger root of {poly}?"
    steps = [f"Factor: (x{signed(-p)})(x{signed(-q_)}) = 0, since {p} * {q_} = {c} and {p} + {q_} = {p + q_}.",
             f"Roots: {p} and {q_}; the larger is {q_}."]
    sym = sympy.Symbol("x")
    return q, steps, q_, max(sympy.solve(sym ** 2 + b * sym + c, sym))


def rectangle(r: random.Random):
    w, h = r.randint(2, 30), r.randint(2, 30)
    if r.random() < 0.5:
        return (f"What is the area of a rectangle {w} cm by {h} cm?", [f"Area = {w} * {h} = {w * h} square cm."],
                w * h, w * h)
    return (f"Find the perimeter of a rectangle with sides {w} m and {h} m.",
            [f"Perimeter = 2 * ({w} + {h}) = {2 * (w + h)} m."], 2 * (w + h), w + w + h + h)


def circle(r: random.Random):
    rad = r.randint(1, 20)
    area = round(math.pi * rad * rad, 2)
    if r.random() < 0.5:
        return (f"What is the area of a circle with radius {rad}? Round to 2 decimal places.",
                [f"Area = pi * r^2 = pi * {rad * rad} ≈ {area}."], F(str(area)), area)
    circ = round(2 * math.pi * rad, 2)
    return (f"Find the circumference of a circle of radius {rad}, to 2 decimals.",
            [f"C = 2 * pi * r = 2 * pi * {rad} ≈ {circ}."], F(str(circ)), circ)


def pythagoras(r: random.Random):
    a, b, c = r.choice([(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29), (9, 40, 41)])
    k = r.randint(1, 4)
    a, b, c = a * k, b * k, c * k
    q = f"A right triangle has legs {a} and {b}. How long is the hypotenuse?"
    steps = [f"c^2 = {a}^2 + {b}^2 = {a * a} + {b * b} = {c * c}.", f"c = sqrt({c * c}) = {c}."]
    return q, steps, c, math.isqrt(a * a + b * b)


def speed(r: random.Random):
    v, t = r.randint(4, 24) * 5, r.choice([F(1, 2), F(3, 4), 1, F(3, 2), 2, F(5, 2), 3, 4])
    d = v * F(t)
    name = r.choice(NAMES)
    if r.random() < 0.5:
        q = f"{name} drives {num(d)} km in {num(t)} hours. What is the average speed in km/h?"
        return q, [f"Speed = distance / time = {num(d)} / {num(t)} = {v} km/h."], v, float(d) / float(t)
    q = f"A train travels at {v} km/h for {num(t)} hours. How far does it go in km?"
    return q, [f"Distance = speed * time = {v} * {num(t)} = {num(d)} km."], d, v * float(t)


def unit_price(r: random.Random):
    one, plural = r.choice(ITEMS)
    n, each, m = r.randint(2, 9), F(r.randint(25, 900), 100), r.randint(4, 20)
    total = n * each
    name = r.choice(NAMES)
    q = f"{name} pays {money(total)} for {n} {plural}. How much would {m} {plural} cost?"
    steps = [f"One {one}: {money(total)} / {n} = {money(each)}.", f"{m} {plural}: {m} * {money(each)} = {money(m * each)}."]
    return q, steps, m * each, float(total) / n * m


def shopping(r: random.Random):
    name = r.choice(NAMES)
    start, spend, earn = r.randint(20, 90), r.randint(3, 19), r.randint(5, 30)
    one, plural = r.choice(ITEMS)
    k = r.randint(2, 5)
    cost = k * spend
    q = (f"{name} has ${start}. {name} buys {k} {plural} at ${spend} each, then earns ${earn} "
         f"doing chores. How much money does {name} have now?")
    steps = [f"Spent: {k} * {spend} = {cost}.", f"{start} - {cost} + {earn} = {start - cost + earn}."]
    return q, steps, start - cost + earn, start - sum([spend] * k) + earn


def ages(r: random.Random):
    a, b = r.sample(NAMES, 2)
    young = r.randint(3, 15)
    diff, years = r.randint(2, 20), r.randint(2, 10)
    q = f"{a} is {diff} years older than {b}. {b} is {young}. How old will {a} be in {years} years?"
    steps = [f"{a} now: {young} + {diff} = {young + diff}.", f"In {years} years: {young + diff} + {years} = {young + diff + years}."]
    return q, steps, young + diff + years, young + diff + years


def mean_median(r: random.Random):
    values = [r.randint(1, 50) for _ in range(r.choice([4, 5, 6, 7]))]
    listed = ", ".join(map(str, values))
    if r.random() < 0.5:
        total = sum(values)
        mean = F(total, len(values))
        q = f"What is the mean of {listed}?"
        shown = num(mean) if is_exact(mean) else f"{num(mean)} (rounded to 2 decimals)"
        return q, [f"Sum = {total}.", f"{total} / {len(values)} = {shown}."], mean, total / len(values)
    srt = sorted(values)
    n = len(srt)
    med = F(srt[n // 2]) if n % 2 else F(srt[n // 2 - 1] + srt[n // 2], 2)
    q = f"Find the median of {listed}."
    steps = [f"Sorted: {', '.join(map(str, srt))}.",
             f"Median = {num(med)}." if n % 2 else f"Middle two: {srt[n // 2 - 1]} and {srt[n // 2]}, average {num(med)}."]
    import statistics
    return q, steps, med, statistics.median(values)


def conversion(r: random.Random):
    kind = r.choice(["c2f", "f2c", "km", "min", "kg"])
    if kind == "c2f":
        c = r.randint(-20, 45)
        f = F(c) * 9 / 5 + 32
        return f"Convert {c} degrees Celsius to Fahrenheit.", [f"F = C * 9/5 + 32 = {c} * 1.8 + 32 = {num(f)}."], f, c * 1.8 + 32
    if kind == "f2c":
        c = r.randint(-4, 8) * 5  # a multiple of 5 gives a whole Fahrenheit value
        f = c * 9 // 5 + 32
        return f"What is {f} degrees Fahrenheit in Celsius?", [f"C = (F - 32) * 5/9 = {f - 32} * 5/9 = {c}."], c, (f - 32) * 5 / 9
    if kind == "km":
        miles = r.randint(2, 60)
        km = round(miles * 1.609344, 2)
        return (f"How many kilometers is {miles} miles? Round to 2 decimals.",
                [f"1 mile = 1.609344 km, so {miles} * 1.609344 = {miles * 1.609344:.6f} ≈ {km} km."], F(str(km)), km)
    if kind == "min":
        h, m = r.randint(1, 9), r.choice([0, 15, 20, 30, 45])
        return f"How many minutes are in {h} hours and {m} minutes?", [f"{h} * 60 + {m} = {h * 60 + m}."], h * 60 + m, h * 60 + m
    g = r.randint(2, 40) * 250
    return f"Convert {g} grams to kilograms.", [f"{g} / 1000 = {num(F(g, 1000))} kg."], F(g, 1000), g / 1000


def powers(r: random.Random):
    kind = r.choice(["pow", "sqrt", "fact", "gcd", "lcm"])
    if kind == "pow":
        b, e = r.randint(2, 9), r.randint(2, 6)
        return f"What is {b} to the power of {e}?", [f"{' * '.join([str(b)] * e)} = {b ** e}."], b ** e, math.pow(b, e)
    if kind == "sqrt":
        n = r.randint(4, 40)
        return f"What is the square root of {n * n}?", [f"{n} * {n} = {n * n}, so the square root is {n}."], n, math.sqrt(n * n)
    if kind == "fact":
        n = r.randint(3, 9)
        return f"What is {n} factorial?", [f"{n}! = {' * '.join(map(str, range(n, 0, -1)))} = {math.factorial(n)}."], \
            math.factorial(n), math.prod(range(1, n + 1))
    a, b = r.randint(2, 30) * r.choice([2, 3, 4]), r.randint(2, 30) * r.choice([2, 3, 5])
    if kind == "gcd":
        g = math.gcd(a, b)
        return f"What is the greatest common divisor of {a} and {b}?", [f"The largest number dividing both {a} and {b} is {g}."], \
            g, max(d for d in range(1, min(a, b) + 1) if a % d == 0 and b % d == 0)
    lcm = a * b // math.gcd(a, b)
    return f"Find the least common multiple of {a} and {b}.", [f"LCM = {a} * {b} / gcd({a}, {b}) = {a * b} / {math.gcd(a, b)} = {lcm}."], \
        lcm, next(m for m in range(max(a, b), a * b + 1) if m % a == 0 and m % b == 0)


def sequence(r: random.Random):
    start, step = r.randint(1, 20), r.randint(2, 9)
    if r.random() < 0.5:
        terms = [start + step * i for i in range(5)]
        q = f"What is the next number in the sequence {', '.join(map(str, terms))}?"
        return q, [f"Each term adds {step}.", f"{terms[-1]} + {step} = {terms[-1] + step}."], terms[-1] + step, 2 * terms[-1] - terms[-2]
    ratio = r.randint(2, 4)
    terms = [start * ratio ** i for i in range(4)]
    q = f"Find the next term: {', '.join(map(str, terms))}, ..."
    return q, [f"Each term is multiplied by {ratio}.", f"{terms[-1]} * {ratio} = {terms[-1] * ratio}."], terms[-1] * ratio, terms[-1] ** 2 // terms[-2]


def fractions(r: random.Random):
    a, b = F(r.randint(1, 7), r.choice([2, 4, 5, 8])), F(r.randint(1, 7), r.choice([3, 4, 5, 10]))
    if a.denominator == 1 or b.denominator == 1:
        return fractions(r)  # whole numbers make a dull fraction problem: draw again
    total = a + b
    q = f"What is {a} + {b}? Give the answer as a decimal."
    lcd = math.lcm(a.denominator, b.denominator)
    steps = [f"Common denominator {lcd}: {a.numerator * lcd // a.denominator}/{lcd} + {b.numerator * lcd // b.denominator}/{lcd} = {total}.",
             f"As a decimal: {num(total)}."]
    return q, steps, total, float(a) + float(b)


def work_split(r: random.Random):
    people = r.randint(2, 8)
    each = F(r.randint(800, 6000), 100)
    bill = each * people
    q = r.choice([f"A dinner bill of {money(bill)} is split equally between {people} friends. How much does each pay?",
                  f"{people} coworkers share a {money(bill)} gift equally. What is each person's share?"])
    return q, [f"{money(bill)} / {people} = {money(each)}."], each, float(bill) / people


KINDS = [arithmetic, order_of_ops, division, percent_of, discount, tip, percent_change, linear_equation, system,
         quadratic, rectangle, circle, pythagoras, speed, unit_price, shopping, ages, mean_median, conversion,
         powers, sequence, fractions, work_split]


def build(rng: random.Random) -> list[tuple[str, str]]:
    """PER_KIND verified problems of every kind, unique questions, shuffled."""
    pairs, seen = [], set()
    for kind in KINDS:
        made = 0
        while made < PER_KIND:
            q, steps, answer, check = kind(rng)
            key = re.sub(r"[^a-z0-9]+", " ", q.lower()).strip()  # signs vanish here: "x + 2" ~ "x - 2"
            if key in seen:
                continue
            tolerance = 1e-6 if is_exact(answer) else 0.005 + 1e-9  # shown rounded to 2 decimals
            if abs(float(num(answer)) - float(check)) > tolerance:
                raise SystemExit(f"{kind.__name__}: {q!r} gave {answer} but the check says {check}")
            seen.add(key)
            pairs.append((q, "\n".join(steps + [f"Answer: {num(answer)}"])))
            made += 1
    rng.shuffle(pairs)
    return pairs


def main() -> None:
    """Generate and write math_training.txt next to this script."""
    pairs = build(random.Random(SEED))
    body = "\n\n".join(f"Q: {q}\nA: {a}" for q, a in pairs) + "\n"
    (HERE / "math_training.txt").write_text(body, encoding="utf-8")
    print(f"wrote {len(pairs)} pairs to {HERE / 'math_training.txt'}")


if __name__ == "__main__":
    main()
