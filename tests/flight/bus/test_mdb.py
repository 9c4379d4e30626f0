"""The mission database is consistent: unique IDs, known types, ranges inside types."""

from bus import mdb


def _unique(values):
    seen = set()
    for v in values:
        assert v not in seen, "duplicate %r" % (v,)
        seen.add(v)


def test_identifiers_unique():
    _unique([p[0] for p in mdb.PARAMETERS])
    _unique([p[1] for p in mdb.PARAMETERS])
    _unique([c[0] for c in mdb.COMMANDS])
    _unique([(c[1], c[2], c[3], c[4]) for c in mdb.COMMANDS])
    _unique([e[0] for e in mdb.EVENTS])
    _unique([e[1] for e in mdb.EVENTS])
    _unique([h[0] for h in mdb.HOUSEKEEPING])


def test_parameters_well_formed():
    apids = [a[0] for a in mdb.APPLICATIONS]
    for pid, name, typ, unit, source, calib, limits, settable, desc in mdb.PARAMETERS:
        assert typ in mdb.TYPE_FORMATS, name
        assert source.count(".") == 1, name
        assert desc, name
        if calib is not None:
            assert calib[0] in ("lin", "enum"), name
        if limits is not None:
            assert len(limits) == 4 and limits[0] <= limits[1] <= limits[2] <= limits[3], name
        if settable is not None:
            lo, hi = mdb.TYPE_RANGES[typ]
            assert lo <= settable[0] <= settable[1] <= hi, name
        assert (pid >> 8) in [a >> 4 for a in apids], name  # id range follows the owner


def test_housekeeping_names_declared_parameters():
    apids = [a[0] for a in mdb.APPLICATIONS]
    for sid, apid, name, interval, params in mdb.HOUSEKEEPING:
        assert apid in apids and interval >= 1
        for p in params:
            mdb.parameter(p)
        assert mdb.hk_format((sid, apid, name, interval, params)).startswith(">")


def test_commands_well_formed():
    apids = [a[0] for a in mdb.APPLICATIONS]
    for name, apid, svc, sub, fid, args, hazardous, desc in mdb.COMMANDS:
        assert apid in apids, name
        assert 0 <= svc <= 255 and 0 <= sub <= 255
        assert (fid is None) == (svc != 8), name
        assert desc
        if hazardous is not True and hazardous is not False:  # conditions, all of which must hold
            assert isinstance(hazardous, tuple) and hazardous, name
            names = [a[0] for a in args or ()]
            for cond in hazardous:
                if cond[0] == mdb.HAZ_STATE:
                    assert len(cond) == 3 and cond[1] and cond[2], name
                else:
                    aname, lo, hi = cond
                    a = args[names.index(aname)]
                    assert a[2] <= lo <= hi <= a[3], (name, aname)
        if args is not None:
            for aname, typ, lo, hi, unit in args:
                tlo, thi = mdb.TYPE_RANGES[typ]
                assert tlo <= lo <= hi <= thi, (name, aname)


def test_every_application_answers_noop_reset_and_ping():
    for apid, app, _ in mdb.APPLICATIONS:
        have = [(c[2], c[3], c[4]) for c in mdb.COMMANDS if c[1] == apid]
        assert (8, 1, 0) in have and (8, 1, 1) in have and (17, 1, None) in have, app


def test_events_well_formed():
    for eid, name, sev, apid, args, text in mdb.EVENTS:
        assert 1 <= sev <= 4 and text
        assert (eid >> 8) == (apid >> 4), name
        mdb.args_format(args)


def test_lookups():
    assert mdb.command("MGR_PING")[2:4] == (17, 1)
    assert mdb.parameter_by_id(0x0203)[1] == "crystal_temp_mk"
    assert mdb.parameter_by_id(0xBEEF) is None
    assert mdb.args_format((("a", "u8"), ("b", "i32"))) == ">Bi"


def test_failure_codes_unique_and_named():
    _unique([f[0] for f in mdb.FAILURES])
    _unique([f[1] for f in mdb.FAILURES])
    for code, name, text in mdb.FAILURES:
        assert 0x0100 <= code <= 0x01FF and text, name


def test_hazard_declaration_of_auto_emit_names_the_parameter():
    cond = mdb.command("PARAM_SET")[6]
    assert cond[0] == ("pid", mdb.parameter("src_auto_emit")[0], mdb.parameter("src_auto_emit")[0])
    assert cond[1] == ("value", 1, 1)
