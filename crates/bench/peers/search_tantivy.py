"""tantivy peer for mace's full-text search benchmark (crates/bench/src/bin/search.rs).

Indexes the same synthetic case notes mace loads (DATA_DIR/notes.tsv) and answers the same
queries with the same access rule, top 10 concerns and top 10 chronology notes per query.

Usage: search_tantivy.py DATA_DIR VIEWER [--rebuild]

Two indexes, one per kind, as mace has two FTS5 tables (concerns, chronology notes). The access
rule is mace's `authz::scope_admits` over DATA_DIR/people.tsv and manifest.json (the viewer's
organisation's involvements, their allocations and active break-glass grants, minus the record
markings they may not see; entry markings per note), applied in one of two ways:

  ids   the viewer's allowed children as a term set on the child id, built once per viewer
        (what an integration that asks mace's database for the scope would do);
  orgs  the organisations involved with the child and the record's marking indexed into every
        note (denormalised), filtered by the viewer's organisation term, plus a term set of
        their few allocations and break-glass grants (what an integration that reindexes a
        child's notes whenever an involvement or marking changes would do).

Prints one JSON line when the indexes are ready (build time, index size, version), then answers
commands on stdin: "round ids" or "round orgs" runs every query of DATA_DIR/queries.tsv once
and prints one JSON line with each query's latency in ms (measured in this process: query
construction, both searches, stored fields and snippets of the hits) and the ids found;
"quit" exits.
"""

import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import sys
import time

import tantivy
from tantivy import Occur, Query

TOP = 10
THREADS = 2  # the machine's cores


def words(q: str) -> list[str]:
    """The query words, as mace's `search::terms` makes them: letters and digits, lower case."""
    return [w.lower() for w in re.split(r"[^\w]|_", q) if w][:8]


KINDS = ("concern", "note")


def schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    b.add_unsigned_field("person", indexed=True)
    # Denormalised access facts (the "orgs" filter): involved organisations, record marking.
    b.add_unsigned_field("orgs", indexed=True)
    b.add_text_field("record_marking", tokenizer_name="raw", index_option="basic")
    b.add_text_field("entry_marking", tokenizer_name="raw", index_option="basic")
    b.add_text_field("body", stored=True, tokenizer_name="en_stem")
    return b.build()


def read_people(data: str) -> dict[int, tuple[list[int], str]]:
    people = {}
    with open(os.path.join(data, "people.tsv"), encoding="utf-8") as f:
        for line in f:
            idx, _uuid, _given, _family, orgs, marking = line.rstrip("\n").split("\t")
            people[int(idx)] = ([int(o) for o in orgs.split(" ") if o], marking)
    return people


def dir_size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def build(path: str, data: str, sch: tantivy.Schema, people) -> dict[str, tantivy.Index]:
    if os.path.exists(path):
        shutil.rmtree(path)
    indexes, writers = {}, {}
    for kind in KINDS:
        os.makedirs(os.path.join(path, kind))
        indexes[kind] = tantivy.Index(sch, path=os.path.join(path, kind))
        writers[kind] = indexes[kind].writer(heap_size=128_000_000, num_threads=THREADS)
    with open(os.path.join(data, "notes.tsv"), encoding="utf-8") as f:
        for line in f:
            nid, kind, person, marking, *text = line.rstrip("\n").split("\t")
            p = int(person)
            orgs, record_marking = people[p]
            doc = tantivy.Document()
            doc.add_text("id", nid)
            doc.add_unsigned("person", p)
            for o in orgs:
                doc.add_unsigned("orgs", o)
            doc.add_text("record_marking", record_marking or "none")
            doc.add_text("entry_marking", marking or "none")
            doc.add_text("body", " ".join(t for t in text if t))
            writers[kind].add_document(doc)
    for kind in KINDS:
        writers[kind].commit()
        writers[kind].wait_merging_threads()
        indexes[kind].reload()
    return indexes


def main() -> None:
    data, viewer_name = sys.argv[1], sys.argv[2]
    rebuild = "--rebuild" in sys.argv[3:]
    with open(os.path.join(data, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    viewer = manifest["viewers"][viewer_name]
    sch = schema()
    people = read_people(data)
    path = os.path.join(data, "tantivy")
    stats_path = os.path.join(data, "tantivy.json")
    reused = not rebuild and os.path.exists(stats_path)
    if reused:
        with open(stats_path, encoding="utf-8") as f:
            build_s = json.load(f)["build_s"]
        indexes = {k: tantivy.Index.open(os.path.join(path, k)) for k in KINDS}
    else:
        t0 = time.perf_counter()
        indexes = build(path, data, sch, people)
        build_s = time.perf_counter() - t0
        with open(stats_path, "w", encoding="utf-8") as f:
            json.dump({"build_s": build_s}, f)
    searchers = {k: indexes[k].searcher() for k in KINDS}

    # The viewer's access (authz::scope_admits over the corpus's access data).
    org, police = viewer["org"], viewer["police"]
    related = set(viewer["allocated"]) | set(viewer["glass_active"])
    cleared = set(viewer["cleared"])
    allowed = [
        p
        for p, (orgs, marking) in people.items()
        if (org in orgs or p in related)
        and not (marking == "police_only" and not police)
        and not (marking == "staff_involved" and p not in cleared)
    ]

    def term(field: str, value: str) -> Query:
        return Query.term_query(sch, field, value)

    def unless_cleared(field: str) -> Query:
        """Marked "staff involved", on a child the viewer is not cleared for."""
        staff = term(field, "staff_involved")
        if not cleared:
            return staff
        ids = Query.term_set_query(sch, "person", sorted(cleared))
        return Query.boolean_query([(Occur.Must, staff), (Occur.MustNot, ids)])

    # Entry markings (chronology notes only), for both filters.
    entry_hidden = [unless_cleared("entry_marking")]
    if not police:
        entry_hidden.append(term("entry_marking", "police_only"))
    ids_filter = [(Occur.Must, Query.const_score_query(Query.term_set_query(sch, "person", allowed), 0.0))]
    related_q = Query.boolean_query(
        [(Occur.Should, Query.term_query(sch, "orgs", org))]
        + ([(Occur.Should, Query.term_set_query(sch, "person", sorted(related)))] if related else [])
    )
    orgs_filter = [(Occur.Must, Query.const_score_query(related_q, 0.0))]
    orgs_filter.append((Occur.MustNot, unless_cleared("record_marking")))
    if not police:
        orgs_filter.append((Occur.MustNot, term("record_marking", "police_only")))
    filters = {"ids": ids_filter, "orgs": orgs_filter}

    queries = []
    with open(os.path.join(data, "queries.tsv"), encoding="utf-8") as f:
        for line in f:
            _cls, text = line.rstrip("\n").split("\t", 1)
            queries.append(words(text))

    def search(terms: list[str], mode: str) -> list[str]:
        ids = []
        for kind in KINDS:
            searcher = searchers[kind]
            text_q = indexes[kind].parse_query(" ".join(terms), ["body"], conjunction_by_default=True)
            clauses = [(Occur.Must, text_q)] + filters[mode]
            # Entry markings apply to chronology notes; concerns carry none.
            if kind == "note":
                clauses += [(Occur.MustNot, h) for h in entry_hidden]
            q = Query.boolean_query(clauses)
            hits = searcher.search(q, limit=TOP, count=False).hits
            if hits:
                snippets = tantivy.SnippetGenerator.create(searcher, text_q, sch, "body")
                for _score, addr in hits:
                    doc = searcher.doc(addr)
                    snippets.snippet_from_doc(doc).fragment
                    ids.append(doc.get_first("id"))
        return ids

    print(
        json.dumps(
            {
                "version": importlib.metadata.version("tantivy"),
                "python": platform.python_version(),
                "build_s": build_s,
                "reused": reused,
                "threads": THREADS,
                "index_bytes": dir_size(path),
                "docs": sum(s.num_docs for s in searchers.values()),
                "segments": sum(s.num_segments for s in searchers.values()),
                "allowed": len(allowed),
            }
        ),
        flush=True,
    )
    for cmd in sys.stdin:
        cmd = cmd.split()
        if cmd == ["quit"]:
            break
        if len(cmd) != 2 or cmd[0] != "round" or cmd[1] not in filters:
            print(json.dumps({"error": f"unknown command {cmd}"}), flush=True)
            continue
        lat, found = [], []
        for terms in queries:
            t0 = time.perf_counter()
            ids = search(terms, cmd[1])
            lat.append((time.perf_counter() - t0) * 1000.0)
            found.append(ids)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps({"lat_ms": lat, "ids": found, "peak_rss_mib": rss}), flush=True)


if __name__ == "__main__":
    main()
