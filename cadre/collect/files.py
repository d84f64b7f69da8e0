"""Files of `cadre router collect`: the questions it reads, the journal it appends to while
it runs, and the routing-table rows it assembles.

- Questions: JSONL (or .jsonl.gz, or a .json list) with a prompt column
  (`prompt` or `question`, or one named), a reference column (`answer`, `reference`,
  `tests` or `test_list`, or one named) and any other columns, which pass through.
- A row's id is its `id`/`idx` column (or a named one) when present, else a hash of the
  prompt, so a rerun recognises the rows it has done.
- The journal (`<output>.journal`) holds one JSON line per (row, model) result, appended
  as each call finishes. A crash can tear only its last line; opening the journal drops a
  torn line (counted) and rewrites the file atomically before appending again.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cadre.data.routing_tables import ReadReport, iter_records, prompt_text
from cadre.errors import CadreError
from cadre.fsutil import atomic_write_text

PROMPT_COLUMNS = ("prompt", "question")
REFERENCE_COLUMNS = ("answer", "reference", "tests", "test_list")
ID_COLUMNS = ("id", "idx")
OPTION_COLUMNS = ("options", "choices")
RESULT_KEYS = ("model_scores", "model_costs", "model_tokens", "model_errors", "model_answers")
JOURNAL_FORMAT = 1


@dataclass
class Question:
    """One usable input row."""

    row_id: str
    prompt: object                 # as given: a string, or a list of chat messages
    text: str                      # the prompt as text (the last user turn of a list)
    messages: list[dict]
    reference: object
    options: list | None
    record: dict                   # the input row, for its passthrough columns
    line: int


@dataclass
class InputReport(ReadReport):
    """What the question reader kept and skipped, with the first problems (file:line)."""

    missing_references: int = 0
    duplicates: int = 0


def row_id(record: dict, prompt, id_column: str | None = None) -> str:
    """A stable id: the id column's value when present, else a hash of the prompt."""
    for col in ((id_column,) if id_column else ID_COLUMNS):
        if record.get(col) is not None:
            return f"{col}:{record[col]}"
    canonical = json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def to_messages(prompt, system: str | None = None) -> list[dict]:
    """Chat messages for a prompt: a list of role messages as given, else one user turn."""
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) and "role" in m for m in prompt):
        messages = [{"role": m["role"], "content": m.get("content") or ""} for m in prompt]
    else:
        messages = [{"role": "user", "content": prompt_text(prompt)[0]}]
    if system and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": system})
    return messages


def _records(path: Path):
    """(line, record or exception) pairs of a JSONL file, or of a JSON list (iter_records)."""
    return iter_records(path)


def render(template: str, record: dict, where: str) -> str:
    """A prompt from a template over the row's columns (`{text}`; lists join by lines)."""
    values = {k: "\n".join(map(str, v)) if isinstance(v, list) else v for k, v in record.items()}
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise CadreError(f"{where}: the prompt template names column {exc}, which this row lacks") from None
    except (ValueError, IndexError) as exc:
        raise CadreError(f"prompt template {template!r}: {exc}") from None


def _pick(record: dict, explicit: str | None, candidates: tuple[str, ...]) -> str | None:
    if explicit:
        return explicit if explicit in record else None
    return next((c for c in candidates if c in record), None)


def read_questions(path: str | Path, prompt_column: str | None = None, reference_column: str | None = None,
                   id_column: str | None = None, limit: int | None = None, system: str | None = None,
                   template: str | None = None) -> tuple[list[Question], InputReport]:
    """The usable questions of a file (at most `limit`), and the counts of skipped rows.
    `template` builds each prompt from the row's columns instead of a prompt column."""
    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: questions file not found")
    report, questions, seen = InputReport(path=str(path)), [], set()
    for n, rec in _records(path):
        if limit is not None and len(questions) >= limit:
            break
        report.rows_read += 1
        question = _question(n, rec, report, prompt_column, reference_column, id_column, system, template)
        if question is None:
            continue
        if question.row_id in seen:
            report.duplicates += 1
            report.note(n, f"duplicate row id {question.row_id}")
            continue
        seen.add(question.row_id)
        questions.append(question)
    report.rows_kept = len(questions)
    if not questions:
        first = "; ".join(report.problems) or "the file is empty"
        raise CadreError(f"{path}: no usable questions ({first})")
    return questions, report


def _question(n: int, rec, report: InputReport, prompt_column, reference_column, id_column,
              system, template) -> Question | None:
    """One record → Question, or None when it is skipped (counted)."""
    if not isinstance(rec, dict):
        report.bad_lines += 1
        report.note(n, "not a JSON object" if not isinstance(rec, Exception) else f"bad JSON ({rec})")
        return None
    pcol = _pick(rec, prompt_column, PROMPT_COLUMNS)
    prompt = rec.get(pcol) if pcol else None
    if template:
        prompt = render(template, rec, f"{report.path}:{n}")
    text = prompt_text(prompt)[0] if prompt is not None else ""
    if not text.strip():
        report.empty_prompts += 1
        report.note(n, f"empty or missing prompt (column {prompt_column or '/'.join(PROMPT_COLUMNS)})")
        return None
    rcol = _pick(rec, reference_column, REFERENCE_COLUMNS)
    if rcol is None or rec.get(rcol) is None:
        report.missing_references += 1
        report.note(n, f"no reference (column {reference_column or '/'.join(REFERENCE_COLUMNS)})")
        return None
    reference = rec[rcol]
    if isinstance(reference, list) and rec.get("test_setup_code"):  # MBPP's setup runs before the tests
        reference = {"test_list": reference, "test_setup_code": rec["test_setup_code"]}
    ocol = _pick(rec, None, OPTION_COLUMNS)
    options = rec[ocol] if ocol and isinstance(rec[ocol], list) else None
    passthrough = {k: v for k, v in rec.items() if k not in (pcol, "prompt")}  # earlier scores merge in
    return Question(row_id(rec, prompt, id_column), prompt, text, to_messages(prompt, system), reference,
                    options, {"prompt": prompt, **passthrough}, n)


def read_output(path: str | Path, id_column: str | None = None) -> dict[str, dict]:
    """Rows of an earlier output by row id (an absent file gives none)."""
    path = Path(path)
    if not path.is_file():
        return {}
    rows = {}
    for n, rec in iter_records(path):
        if not isinstance(rec, dict) or "prompt" not in rec:
            raise CadreError(f"{path}:{n}: not a routing-table row; move the file away or pick another --output")
        rows[row_id(rec, rec["prompt"], id_column)] = rec
    return rows


def merge_row(base: dict, results: dict[str, dict], keep_answers: bool = False,
              order: list[str] | None = None) -> dict:
    """A routing-table row: `base` (an earlier output row or the input row) with the
    (model → result) entries written into model_scores, model_costs, model_tokens and
    model_errors (and model_answers with `keep_answers`). New models go in `order` (the
    run's model list), not in the order their calls happened to finish."""
    cols = {k: dict(base[k]) if isinstance(base.get(k), dict) else {} for k in RESULT_KEYS}
    rank = {m: i for i, m in enumerate(order or [])}
    for model in sorted(results, key=lambda m: rank.get(m, len(rank))):
        r = results[model]
        cols["model_scores"][model] = r.get("score")
        cols["model_costs"][model] = r.get("cost")
        cols["model_tokens"][model] = r.get("prompt_tokens", 0) + r.get("completion_tokens", 0)
        if r.get("error"):
            cols["model_errors"][model] = r["error"]
        else:
            cols["model_errors"].pop(model, None)
        if keep_answers and "answer" in r:
            cols["model_answers"][model] = r["answer"]
    rest = {k: v for k, v in base.items() if k != "prompt" and k not in RESULT_KEYS}
    row = {"prompt": base["prompt"], "model_scores": cols["model_scores"], "model_costs": cols["model_costs"]}
    row.update(rest)
    row.update({k: cols[k] for k in RESULT_KEYS[2:] if cols[k]})
    return row


def done_models(row: dict, models: list[str], retry_errors: bool = False) -> set[str]:
    """The models an earlier output row already answers (an error counts unless retried)."""
    scores, errors = row.get("model_scores") or {}, row.get("model_errors") or {}
    done = {m for m in models if scores.get(m) is not None}
    if not retry_errors:
        done |= {m for m in models if m in errors}
    return done


class Journal:
    """Append-only (row, model) results beside the output, for resuming after a crash."""

    def __init__(self, path: str | Path, header: dict, fsync_every: int = 20):
        self.path, self.header, self.fsync_every = Path(path), dict(header), fsync_every
        self.torn_lines, self._file, self._since_sync = 0, None, 0

    def load(self) -> list[dict]:
        """The valid results already journaled; a torn or bad line is dropped (counted) and
        the file rewritten atomically, so new lines never follow half a line."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        results, good = [], []
        for n, line in enumerate(lines, 1):
            try:
                rec = json.loads(line)
            except ValueError:
                self.torn_lines += 1
                continue
            if n == 1 and isinstance(rec, dict) and "journal" in rec:
                self._check_header(rec)
            elif isinstance(rec, dict) and "row_id" in rec and "model" in rec:
                results.append(rec)
            else:
                self.torn_lines += 1
                continue
            good.append(line)
        if self.torn_lines:
            atomic_write_text(self.path, "".join(f"{g}\n" for g in good))
        return results

    def _check_header(self, rec: dict) -> None:
        if rec.get("format") != JOURNAL_FORMAT:
            raise CadreError(f"{self.path}: journal format {rec.get('format')!r} is not {JOURNAL_FORMAT}; delete it")
        if rec.get("judge") != self.header.get("judge"):
            raise CadreError(f"{self.path}: this unfinished run was judged with {rec.get('judge')!r}, not "
                             f"{self.header.get('judge')!r}; rerun with that judge or delete the journal")

    def append(self, result: dict) -> None:
        """Write one result as one line (the header first, for a new journal)."""
        if self._file is None:
            new = not self.path.is_file() or self.path.stat().st_size == 0
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")
            if new:
                self._file.write(json.dumps({"journal": "cadre-collect", "format": JOURNAL_FORMAT,
                                             **self.header}) + "\n")
        self._file.write(json.dumps(result, ensure_ascii=False) + "\n")
        self._file.flush()
        self._since_sync += 1
        if self._since_sync >= self.fsync_every:
            os.fsync(self._file.fileno())
            self._since_sync = 0

    def close(self) -> None:
        """Flush to disk and close."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def remove(self) -> None:
        """Delete the journal once the output holds everything."""
        self.close()
        self.path.unlink(missing_ok=True)
