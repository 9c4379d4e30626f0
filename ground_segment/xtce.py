"""XTCE 1.2 export of the mission database (``qsat xtce``), for Yamcs-style ground systems.

One ``SpaceSystem`` holds: parameter types (integer or float encodings, the
linear calibrations as polynomial calibrators, enumerations, static alarm
ranges from the declared limits), the parameters, an abstract PUS TM container
(primary header, PUS-C secondary header, CDS time) with one housekeeping
container per declared packet restricted on APID, service 3/25 and SID, an
abstract PUS TC meta-command and one meta-command per declared command.
Commands with a variable layout (TC[11,4]) are exported with a binary argument.
"""

import xml.etree.ElementTree as ET

from bus import mdb

NS = "http://www.omg.org/spec/XTCE/20180204"
_SIGNED = {"u8": False, "u16": False, "u32": False, "i8": True, "i16": True, "i32": True}
_BITS = {"u8": 8, "i8": 8, "u16": 16, "i16": 16, "u32": 32, "i32": 32, "f32": 32}


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent, tag, **attrs):
    return ET.SubElement(parent, _q(tag), {k.rstrip("_"): str(v) for k, v in attrs.items()})


def _encoding(parent, typ):
    if typ == "f32":
        _sub(parent, "FloatDataEncoding", sizeInBits=32, encoding="IEEE754_1985")
    else:
        _sub(parent, "IntegerDataEncoding", sizeInBits=_BITS[typ],
             encoding="twosComplement" if _SIGNED[typ] else "unsigned")


def _parameter_type(type_set, p):
    pid, name, typ, unit, source, calib, limits, settable, desc = p
    tname = f"{name}_t"
    if calib is not None and calib[0] == "enum":
        t = _sub(type_set, "EnumeratedParameterType", name=tname)
        _encoding(t, typ)
        lst = _sub(t, "EnumerationList")
        for raw, text in calib[1]:
            _sub(lst, "Enumeration", value=raw, label=text)
        return tname
    if typ == "f32" or (calib is not None and calib[0] == "lin"):
        t = _sub(type_set, "FloatParameterType", name=tname, sizeInBits=64)
    else:
        t = _sub(type_set, "IntegerParameterType", name=tname, signed=str(_SIGNED[typ]).lower(),
                 sizeInBits=_BITS[typ])
    units = _sub(t, "UnitSet")
    eng_unit = calib[3] if calib is not None and calib[0] == "lin" else unit
    if eng_unit:
        _sub(units, "Unit").text = eng_unit
    _encoding(t, typ)
    enc = t[-1]
    if calib is not None and calib[0] == "lin":
        cal = _sub(_sub(enc, "DefaultCalibrator"), "PolynomialCalibrator")
        _sub(cal, "Term", coefficient=repr(calib[2]), exponent=0)
        _sub(cal, "Term", coefficient=repr(calib[1]), exponent=1)
    if limits is not None:
        red_lo, yel_lo, yel_hi, red_hi = limits
        if calib is not None and calib[0] == "lin":  # alarms are in engineering units
            red_lo, yel_lo, yel_hi, red_hi = (v * calib[1] + calib[2] for v in limits)
        ranges = _sub(_sub(t, "DefaultAlarm"), "StaticAlarmRanges")
        _sub(ranges, "WarningRange", minInclusive=yel_lo, maxInclusive=yel_hi)
        _sub(ranges, "CriticalRange", minInclusive=red_lo, maxInclusive=red_hi)
    return tname


def _header_types(type_set):
    for name, bits in (("uint1_t", 1), ("uint2_t", 2), ("uint3_t", 3), ("uint4_t", 4), ("uint8_t", 8),
                       ("uint11_t", 11), ("uint14_t", 14), ("uint16_t", 16), ("uint32_t", 32)):
        t = _sub(type_set, "IntegerParameterType", name=name, signed="false", sizeInBits=bits)
        _sub(t, "UnitSet")
        _sub(t, "IntegerDataEncoding", sizeInBits=bits, encoding="unsigned")


_TM_HEADER = (
    ("ccsds_version", "uint3_t"), ("ccsds_type", "uint1_t"), ("ccsds_sec_hdr_flag", "uint1_t"),
    ("ccsds_apid", "uint11_t"), ("ccsds_seq_flags", "uint2_t"), ("ccsds_seq_count", "uint14_t"),
    ("ccsds_data_len", "uint16_t"), ("pus_version", "uint4_t"), ("pus_time_ref_status", "uint4_t"),
    ("pus_service", "uint8_t"), ("pus_subtype", "uint8_t"), ("pus_msg_counter", "uint16_t"),
    ("pus_destination_id", "uint16_t"), ("cds_p_field", "uint8_t"), ("cds_days", "uint16_t"),
    ("cds_ms_of_day", "uint32_t"),
)
_TC_HEADER = (
    ("ccsds_version", 0, "uint3_t"), ("ccsds_type", 1, "uint1_t"), ("ccsds_sec_hdr_flag", 1, "uint1_t"),
    ("ccsds_apid", None, "uint11_t"), ("ccsds_seq_flags", 3, "uint2_t"), ("ccsds_seq_count", None, "uint14_t"),
    ("ccsds_data_len", None, "uint16_t"), ("pus_version", 2, "uint4_t"), ("pus_ack_flags", 15, "uint4_t"),
    ("pus_service", None, "uint8_t"), ("pus_subtype", None, "uint8_t"), ("pus_source_id", 0, "uint16_t"),
)


def generate() -> bytes:
    ET.register_namespace("xtce", NS)
    root = ET.Element(_q("SpaceSystem"), {"name": "QSAT"})
    _sub(root, "LongDescription").text = (
        f"Quantum payload mission database (spacecraft ID 0x{mdb.SPACECRAFT_ID:03X}), generated from bus/mdb.py")
    tm = _sub(root, "TelemetryMetaData")
    type_set = _sub(tm, "ParameterTypeSet")
    _header_types(type_set)
    param_set = _sub(tm, "ParameterSet")
    for name, tname in _TM_HEADER:
        _sub(param_set, "Parameter", name=name, parameterTypeRef=tname)
    _sub(param_set, "Parameter", name="hk_sid", parameterTypeRef="uint16_t")
    for p in mdb.PARAMETERS:
        tname = _parameter_type(type_set, p)
        par = _sub(param_set, "Parameter", name=p[1], parameterTypeRef=tname)
        _sub(par, "LongDescription").text = p[8]
    containers = _sub(tm, "ContainerSet")
    base = _sub(containers, "SequenceContainer", name="PUS_TM", abstract="true")
    entries = _sub(base, "EntryList")
    for name, _ in _TM_HEADER:
        _sub(entries, "ParameterRefEntry", parameterRef=name)
    for sid, apid, name, interval, params in mdb.HOUSEKEEPING:
        c = _sub(containers, "SequenceContainer", name=name)
        _sub(c, "LongDescription").text = f"housekeeping SID {sid}, default every {interval} s"
        el = _sub(c, "EntryList")
        _sub(el, "ParameterRefEntry", parameterRef="hk_sid")
        for pname in params:
            _sub(el, "ParameterRefEntry", parameterRef=pname)
        bc = _sub(c, "BaseContainer", containerRef="PUS_TM")
        cl = _sub(_sub(bc, "RestrictionCriteria"), "ComparisonList")
        for pref, value in (("ccsds_apid", apid), ("pus_service", 3), ("pus_subtype", 25), ("hk_sid", sid)):
            _sub(cl, "Comparison", parameterRef=pref, value=value)

    cmd = _sub(root, "CommandMetaData")
    arg_types = _sub(cmd, "ArgumentTypeSet")
    made = set()

    def arg_type(typ, lo=None, hi=None):
        tname = f"{typ}_arg" if lo is None else f"{typ}_{lo}_{hi}_arg".replace("-", "m")
        if tname in made:
            return tname
        made.add(tname)
        if typ == "bytes":
            t = _sub(arg_types, "BinaryArgumentType", name=tname)
            _sub(_sub(_sub(t, "BinaryDataEncoding"), "SizeInBits"), "DynamicValue")
            return tname
        t = _sub(arg_types, "IntegerArgumentType", name=tname, signed=str(_SIGNED[typ]).lower(),
                 sizeInBits=_BITS[typ])
        _sub(t, "UnitSet")
        _sub(t, "IntegerDataEncoding", sizeInBits=_BITS[typ],
             encoding="twosComplement" if _SIGNED[typ] else "unsigned")
        if lo is not None:
            _sub(_sub(t, "ValidRangeSet"), "ValidRange", minInclusive=lo, maxInclusive=hi)
        return tname

    for bits in (1, 2, 3, 4, 8, 11, 14, 16):
        t = _sub(arg_types, "IntegerArgumentType", name=f"uint{bits}_arg", signed="false", sizeInBits=bits)
        _sub(t, "UnitSet")
        _sub(t, "IntegerDataEncoding", sizeInBits=bits, encoding="unsigned")
    metas = _sub(cmd, "MetaCommandSet")
    base = _sub(metas, "MetaCommand", name="PUS_TC", abstract="true")
    al = _sub(base, "ArgumentList")
    ce = _sub(_sub(base, "CommandContainer", name="PUS_TC"), "EntryList")
    for name, fixed, tname in _TC_HEADER:
        _sub(al, "Argument", name=name, argumentTypeRef=tname.replace("_t", "_arg"))
        _sub(ce, "ArgumentRefEntry", argumentRef=name)
    for name, apid, svc, sub, fid, args, hazardous, desc in mdb.COMMANDS:
        m = _sub(metas, "MetaCommand", name=name)
        _sub(m, "LongDescription").text = desc
        bm = _sub(m, "BaseMetaCommand", metaCommandRef="PUS_TC")
        aal = _sub(bm, "ArgumentAssignmentList")
        for an, av in (("ccsds_apid", apid), ("pus_service", svc), ("pus_subtype", sub)):
            _sub(aal, "ArgumentAssignment", argumentName=an, argumentValue=av)
        al = _sub(m, "ArgumentList")
        ce = _sub(_sub(m, "CommandContainer", name=f"{name}_container"), "EntryList")
        if fid is not None:
            _sub(ce, "FixedValueEntry", name="function_id", binaryValue=f"{fid:02X}", sizeInBits=8)
        if args is None:
            _sub(al, "Argument", name="application_data", argumentTypeRef=arg_type("bytes"))
            _sub(ce, "ArgumentRefEntry", argumentRef="application_data")
        else:
            for an, typ, lo, hi, unit in args:
                _sub(al, "Argument", name=an, argumentTypeRef=arg_type(typ, lo, hi))
                _sub(ce, "ArgumentRefEntry", argumentRef=an)
        if hazardous:  # can be hazardous: the reason says when (bus.mdb, docs/hazardous_commands.md)
            from ground_segment.icd import hazard_text

            _sub(m, "DefaultSignificance", consequenceLevel="critical",
                 reasonForWarning=f"hazardous {hazard_text(hazardous)}: needs HAZ_ARM first")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
