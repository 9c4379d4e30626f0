# Runs inside MicroPython (tests/mp/mp_run.mjs --script).  Prints "@@BENCH name value unit".
# Link layer costs on board: TC frame validation, FARM-1, CLTU decoding, TM frame building.
import gc
import time

from bus.cltu import CltuDecoder, cltu_encode
from bus.clcw import pack_clcw
from bus.farm import ACCEPT_AD, Farm1
from bus.tc_frame import FRAME_AD, TcFrameReader, tc_frame
from bus.tm_frame import TmFrameBuilder

SCID = 0x1A5
VC = 0
TC_DATA = 64  # octets of packet per TC frame: a PUS TC with a few arguments
N = 2000


def bench(name, value, unit):
    print("@@BENCH %s %s %s" % (name, value, unit))


def timed(fn, steps):
    """Mean us per call and garbage (B) per call of fn over steps calls."""
    fn()
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    t0 = time.ticks_us()
    i = 0
    while i < steps:
        fn()
        i += 1
    t1 = time.ticks_us()
    b = gc.mem_alloc()
    gc.enable()
    return time.ticks_diff(t1, t0) / steps, (b - a) / steps


frames = [bytearray(tc_frame(SCID, VC, FRAME_AD, ns, bytes(range(TC_DATA)))) for ns in range(256)]
FLEN = len(frames[0])
reader = TcFrameReader(SCID, vcids=(VC,), max_len=512)
farm = Farm1(VC)
box = bytearray(1)


def decode_only():
    reader.parse(frames[5], FLEN)


def farm_step():
    fr = frames[box[0]]
    box[0] = (box[0] + 1) & 0xFF
    if reader.parse(fr, FLEN) == 0 and farm.process(reader) == ACCEPT_AD:
        farm.buffer_released()


reader.parse(frames[0], FLEN)


def farm_process_only():
    # the state table alone, on a frame already validated
    reader.seq = farm.vr
    if farm.process(reader) == ACCEPT_AD:
        farm.buffer_released()


us, g = timed(decode_only, N)
bench("tc_frame_len", FLEN, "B")
bench("tc_decode_us", "%.1f" % us, "us/frame")
bench("tc_decode_garbage", "%.2f" % g, "B/frame")
us, g = timed(farm_process_only, N)
bench("farm_process_us", "%.1f" % us, "us/frame")
us, g = timed(farm_step, N)
bench("farm_step_us", "%.1f" % us, "us/frame")
bench("farm_step_garbage", "%.2f" % g, "B/frame")
bench("farm_clcw_us", "%.1f" % timed(farm.clcw, N)[0], "us")

cltu = bytearray(cltu_encode(frames[7]))
CLEN = len(cltu)
dec = CltuDecoder(512)


def cltu_frame():
    pos = 0
    while pos < CLEN:
        pos = dec.feed_buf(cltu, pos, CLEN)


us, g = timed(cltu_frame, N // 10)
bench("cltu_len", CLEN, "B")
bench("cltu_decode_us", "%.1f" % us, "us/frame")
bench("cltu_decode_per_octet_us", "%.2f" % (us / CLEN), "us/B")
bench("cltu_decode_garbage", "%.2f" % g, "B/frame")

for flen in (512, 1115):
    tm = TmFrameBuilder(SCID, frame_len=flen, vc_slots=(4, 4), asm=True)
    pkt = bytearray(200)
    pkt[0:6] = b"\x08\x10\xc0\x00\x00\xc1"  # 200-octet TM packet
    clcw = pack_clcw(VC, 0)

    def tm_step():
        # keep the queue topped up so that every frame is a full one of packets
        while tm.free_bytes(0) >= 200:
            tm.queue_packet(0, pkt)
        tm.next_frame(clcw)

    us, g = timed(tm_step, 100)
    bench("tm_frame_%d_us" % flen, "%.1f" % us, "us/frame")
    bench("tm_frame_%d_garbage" % flen, "%.2f" % g, "B/frame")
