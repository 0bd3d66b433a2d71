"""A client of the mltools HTTP gateway, in Python's standard library alone.

A node serves the gateway when its configuration has a ``[gateway]``
table. This module wraps its routes in :class:`Client`, turns every
error answer (``application/problem+json``) into a
:class:`GatewayError`, and, run as a script, uploads a CSV, compares
models on it, follows the comparison as it runs, prints the leaderboard
and predicts a few rows::

    python3 mltools_client.py --url http://127.0.0.1:8080 \\
        --token "$TOKEN" shop.csv --target label \\
        --models logistic_regression,gaussian_nb --folds 3

As a library::

    from mltools_client import Client

    client = Client("http://127.0.0.1:8080", token="...")
    dataset = client.upload_csv("shop.csv", name="shop", target="label")
    job = client.compare("shop", models=["gaussian_nb"], folds=3)
    for event, data in client.follow(job):
        print(event, data["state"])
    best = client.report(job)["leaderboard"]["best"]
    print(client.predict(best, [{"x1": 9.5, "x2": 9.0, "colour": "red"}]))
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import ssl
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

#: How many rows of the CSV the script predicts once the comparison is done.
PREDICTED_ROWS = 5


class GatewayError(Exception):
    """An error answer of the gateway: its HTTP status, its ``code`` and
    ``detail``.

    ``code`` is the problem's stable name (``not_found``,
    ``unauthorized``, ``invalid_input``, ...); ``retry_after_ms`` is the
    gateway's hint for ``overloaded`` and ``too_many_requests`` answers,
    ``None`` otherwise.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(status, code, detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after_ms = retry_after_ms

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"

    @classmethod
    def from_problem(
        cls, problem: Mapping[str, Any], status: int | None = None
    ) -> GatewayError:
        """The error a problem+json object describes (``status`` when it
        has none).
        """
        return cls(
            int(problem.get("status") or status or 0),
            str(problem.get("code") or "error"),
            str(problem.get("detail") or problem.get("title") or ""),
            problem.get("retry_after_ms"),
        )

    @classmethod
    def from_response(
        cls, status: int, reason: str, body: bytes
    ) -> GatewayError:
        """The error of a non-2xx answer, from its problem+json body,
        or, when the body is not JSON (a proxy's error page, say), from
        its status and text.
        """
        try:
            problem = json.loads(body)
        except ValueError:
            problem = None
        if isinstance(problem, dict):
            return cls.from_problem(problem, status)
        code = (reason or "error").lower().replace(" ", "_")
        text = body.decode("utf-8", "replace").strip()
        return cls(status, code, text[:500] or reason)


class Client:
    """A client of one gateway at ``base_url`` (``http://host:port`` or
    ``https://``).

    ``token`` is sent as a bearer token; ``cafile`` is the PEM file of
    the authority that signed an ``https`` gateway's certificate (the
    system's authorities when ``None``); ``timeout`` bounds each socket
    operation, in seconds. Each call opens its own connection, so a
    client may be shared between threads.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        cafile: str | None = None,
        timeout: float = 60,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"`{base_url}` is not an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._ssl = (
            ssl.create_default_context(cafile=cafile) if self._https else None
        )

    # -- the routes --

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``: ``{"status": "ok", "services": [...]}``."""
        return self._json("GET", "/v1/health")

    def datasets(self) -> list[dict[str, Any]]:
        """``GET /v1/datasets``: every dataset at its latest version."""
        return self._json("GET", "/v1/datasets")

    def upload_csv(
        self, path: str, name: str, target: str | None = None
    ) -> dict[str, Any]:
        """Imports the CSV file at ``path`` as dataset ``name``; returns
        its description.

        The file is streamed as the request's body, a block at a time,
        with its size as the ``Content-Length``: it is never read into
        memory whole.

        Raises :class:`GatewayError` (409 ``already_exists`` when the
        name is taken, 413 when the file is over the gateway's limit,
        400 for a malformed CSV).
        """
        query = {"name": name}
        if target is not None:
            query["target"] = target
        with open(path, "rb") as body:
            size = os.fstat(body.fileno()).st_size
            headers = {"Content-Type": "text/csv", "Content-Length": str(size)}
            return self._json(
                "POST", "/v1/datasets?" + urlencode(query), body, headers
            )

    def compare(
        self,
        dataset: str,
        models: Sequence[str] | None = None,
        folds: int = 5,
        seed: int = 0,
        target: str | None = None,
        metric: str | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> int:
        """Starts comparing ``models`` (algorithm ids; the task's
        defaults when ``None``) on ``dataset`` (its id or name) by
        cross-validation; returns the job's id at once.

        Raises :class:`GatewayError` (404 for an unknown dataset, 400
        for an unknown model, target or metric).
        """
        request: dict[str, Any] = {
            "dataset": dataset,
            "folds": folds,
            "seed": seed,
        }
        if models:
            request["models"] = list(models)
        if target is not None:
            request["target"] = target
        if metric is not None:
            request["metric"] = metric
        if overrides:
            request["overrides"] = {k: dict(v) for k, v in overrides.items()}
        return int(self._json("POST", "/v1/compare", request)["job"])

    def follow(self, job: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """Follows a comparison as server-sent events: yields ``(event,
        data)`` pairs, a ``status`` each time the job moves, then one
        ``done`` (or an ``error`` carrying a problem, when the gateway
        lost the lab), and ends.

        The stream is read line by line as it arrives; the gateway's
        keep-alive comments keep the connection inside ``timeout``.
        Raises :class:`GatewayError` for an unknown job.
        """
        connection, response = self._send(
            "GET",
            f"/v1/jobs/{job}/events",
            headers={"Accept": "text/event-stream"},
        )
        try:
            for event, data in _server_sent_events(response):
                yield event, data
                if event in ("done", "error"):
                    return
        finally:
            connection.close()

    def report(self, job: int, wait_ms: int = 0) -> dict[str, Any]:
        """``GET /v1/jobs/{job}/report``: the finished comparison's
        leaderboard (best first, ``best`` the stored model's id), plots
        and page, waiting up to ``wait_ms``.

        Raises :class:`GatewayError` (409 ``not_finished`` while it runs).
        """
        query = f"?wait_ms={wait_ms}" if wait_ms else ""
        return self._json("GET", f"/v1/jobs/{job}/report{query}")

    def predict(
        self, model: int, rows: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        """Predicts ``rows`` (dicts of column to value; ``None`` or an
        absent column is a missing value) with stored model ``model``:
        one label or number per row.

        Raises :class:`GatewayError` (422 naming the row and column of a
        bad cell).
        """
        body = {"rows": [dict(row) for row in rows]}
        answer = self._json("POST", f"/v1/models/{model}/predict", body)
        return answer["predictions"]

    def predict_csv(self, model: int, path: str) -> list[Any]:
        """Predicts the rows of the CSV file at ``path`` (a header line
        naming the model's input columns, in any order) with stored
        model ``model``.
        """
        with open(path, "rb") as body:
            size = os.fstat(body.fileno()).st_size
            headers = {"Content-Type": "text/csv", "Content-Length": str(size)}
            answer = self._json(
                "POST", f"/v1/models/{model}/predict", body, headers
            )
        return answer["predictions"]

    # -- the transport --

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._ssl
            )
        return http.client.HTTPConnection(
            self._host, self._port, timeout=self.timeout
        )

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sends a request; returns the open connection and a 2xx
        response, its body unread. Raises :class:`GatewayError` for any
        other status.
        """
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection = self._connection()
        try:
            try:
                connection.request(
                    method, self._prefix + path, body=body, headers=sent
                )
            except (BrokenPipeError, ConnectionResetError):
                # A gateway refusing an upload (too large, a bad token)
                # may answer and close before reading it all: its answer
                # says why, the broken pipe not.
                pass
            response = connection.getresponse()
        except BaseException:
            connection.close()
            raise
        if not 200 <= response.status < 300:
            try:
                error = GatewayError.from_response(
                    response.status, response.reason, response.read()
                )
            finally:
                connection.close()
            raise error
        return connection, response

    def _json(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        connection, response = self._send(method, path, body, headers)
        try:
            return json.loads(response.read())
        finally:
            connection.close()


def _server_sent_events(
    response: http.client.HTTPResponse,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The events of a ``text/event-stream`` body, parsed line by line
    as they arrive: ``event:`` names the event (``message`` when
    absent), ``data:`` lines (joined by newlines) carry its JSON, a
    blank line ends it, ``:`` starts a comment.
    """
    event, data = "", []
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield event or "message", json.loads("\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)


# -- the script --


def _progress(data: Mapping[str, Any]) -> str:
    state = str(data.get("state", "?"))
    if state == "fitting" and data.get("fits_total") is not None:
        return f"fitting {data.get('fits_done', 0)}/{data['fits_total']}"
    return state


def leaderboard_table(report: Mapping[str, Any]) -> str:
    """A report's leaderboard as an aligned text table: rank, model, the
    ranking metric's mean ± std over the folds, and the mean fit time
    per fold.
    """
    board = report["leaderboard"]
    metric = board["metric"]
    rows = [("rank", "model", metric, "fit ms")]
    for rank, entry in enumerate(board["entries"], start=1):
        value = entry.get("metrics", {}).get(metric)
        if entry.get("error"):
            score = f"failed: {entry['error'].get('message', '')}"
        elif value is None:
            score = "-"
        else:
            score = f"{value['mean']:.4f} ± {value['std']:.4f}"
        rows.append(
            (
                str(rank),
                entry["model"]["algorithm"],
                score,
                f"{entry.get('fit_ms', 0):.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            row[0].rjust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].ljust(widths[2]),
            row[3].rjust(widths[3]),
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def first_rows(
    path: str, target: str, count: int
) -> list[dict[str, str | None]]:
    """The first ``count`` rows of a CSV file without its ``target``
    column, empty cells as missing values (the gateway reads a number
    given as text in a numeric column).
    """
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = []
        for record in reader:
            if len(rows) == count:
                break
            rows.append(
                {
                    column: ((value or "").strip() or None)
                    for column, value in record.items()
                    if column != target and column is not None
                }
            )
    return rows


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Upload a CSV to an mltools gateway, compare models "
        "on it, print the leaderboard and predict its first rows."
    )
    parser.add_argument(
        "csv", metavar="CSV", help="the CSV file, with a header line"
    )
    parser.add_argument(
        "--url", required=True, help="the gateway, e.g. http://127.0.0.1:8080"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("MLTOOLS_TOKEN"),
        help="the bearer token (default: $MLTOOLS_TOKEN)",
    )
    parser.add_argument(
        "--cafile", help="the CA certificate of an https gateway (PEM)"
    )
    parser.add_argument(
        "--target", required=True, help="the column to predict"
    )
    parser.add_argument(
        "--name", help="the dataset's name (default: the file's stem)"
    )
    parser.add_argument(
        "--models",
        help="algorithm ids, comma-separated "
        "(default: the task's defaults)",
    )
    parser.add_argument(
        "--folds", type=int, default=5, help="cross-validation folds"
    )
    parser.add_argument("--seed", type=int, default=0, help="the folds' seed")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Uploads, compares, follows, reports and predicts, printing as it goes.

    Raises :class:`GatewayError` for any error answer, or when the
    comparison does not finish.
    """
    client = Client(args.url, token=args.token, cafile=args.cafile)
    name = args.name or os.path.splitext(os.path.basename(args.csv))[0]
    dataset = client.upload_csv(args.csv, name, target=args.target)
    print(
        f"uploaded {dataset['name']} (id {dataset['id']}): "
        f"{dataset['rows']} rows"
    )
    models = (
        [m.strip() for m in args.models.split(",") if m.strip()]
        if args.models
        else None
    )
    job = client.compare(
        name,
        models=models,
        folds=args.folds,
        seed=args.seed,
        target=args.target,
    )
    print(f"job {job} started")
    last = None
    for event, data in client.follow(job):
        if event == "error":
            raise GatewayError.from_problem(data)
        line = _progress(data)
        if line != last:
            print(line, flush=True)
            last = line
    report = client.report(job, wait_ms=10_000)
    print()
    print(leaderboard_table(report))
    print()
    best = report["leaderboard"].get("best")
    print(f"best model: {best}")
    print(f"report: {client.base_url}{report['page']}")
    if best is None:
        return
    rows = first_rows(args.csv, args.target, PREDICTED_ROWS)
    predictions = client.predict(best, rows)
    print()
    print("row, prediction")
    for index, prediction in enumerate(predictions):
        print(f"{index}, {prediction}")


def main(argv: Sequence[str] | None = None) -> int:
    """The script: 0 on success; 1, with the error on standard error,
    when the gateway answers with an error or cannot be reached (or the
    CSV cannot be read); 2 for bad arguments (argparse).
    """
    args = _arguments(argv)
    try:
        run(args)
    except (GatewayError, OSError, http.client.HTTPException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
