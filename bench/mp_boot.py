# Runs inside MicroPython against the deploy bundle (bench/__main__.py).  Prints "@@BENCH name value unit".
import gc
import sys
import time

gc.collect()
base = gc.mem_alloc()

# Everything the payload imports when it boots (payload.app pulls in the services, the link
# stack and bus/); FLIGHT_MODULES, set by bench/__main__.py, lists the whole bundle for reference.
# Not imported: the board backend (needs machine; hal.fake stands in for it) and bus.fop (FOP-1
# is the ground's half of COP-1).
import hal.fake  # noqa: E402
import payload.app  # noqa: E402
import payload.boot  # noqa: E402,F401

gc.collect()
after_import = gc.mem_alloc()
hal_ = hal.fake.FakeHal(nvstore_size=4096)
gc.collect()
after_hal = gc.mem_alloc()
app = payload.app.PayloadApp(hal_)  # imports the service modules it needs
app.start()
gc.collect()
after_init = gc.mem_alloc()
mods_loaded = [m for m in sys.modules if m.split(".")[0] in ("bus", "hal", "payload")]


def bench(name, value, unit):
    print("@@BENCH %s %s %s" % (name, value, unit))


bench("mp_version", "%d.%d.%d" % sys.implementation.version[:3], "")
bench("ram_modules_bytes", after_import - base, "B")
bench("ram_fake_hal_bytes", after_hal - after_import, "B")
bench("modules_loaded", len(mods_loaded), "")
bench("ram_after_boot_bytes", after_init - base, "B")
bench("ram_nvstore_fake_bytes", 4096, "B")

# garbage per fine-loop step: the real dispatcher with both beams' loops
s0, s1 = hal_.fine_sensor
sched, fine, clock = app.sched, app.fine, hal_.clock
STEPS = 5000


def one():
    s0.publish(1200, -800)
    s1.publish(-300, 400)
    sched.run(fine)
    clock.advance(1000)


def garbage(fn, steps):
    """Heap bytes allocated by ``steps`` calls (collector off; heap_lock hangs this port)."""
    fn()
    gc.collect()
    gc.disable()
    n = 0
    before = gc.mem_alloc()
    while n < steps:
        fn()
        n += 1
    after = gc.mem_alloc()
    gc.enable()
    return after - before


g = garbage(one, STEPS)
bench("garbage_per_fine_step_bytes", g / STEPS, "B/step")

# scheduler cost: full app.step() per virtual ms (fine every step, slower groups when due)
gc.collect()
i = 0
t0 = time.ticks_us()
while i < STEPS:
    s0.publish(1200, -800)
    s1.publish(-300, 400)
    app.step()
    clock.advance(1000)
    i += 1
t1 = time.ticks_us()
bench("app_step_us", time.ticks_diff(t1, t0) / STEPS, "us/step")

# bare dispatcher cost: one group, one no-op task
sch = payload.scheduler.Scheduler(clock)
g = sch.add_group("bench", 1000, isr=True)
g.tasks.append(lambda: None)
sch.start()
i = 0
t0 = time.ticks_us()
while i < STEPS:
    sch.run(g)
    i += 1
t1 = time.ticks_us()
bench("dispatch_us", time.ticks_diff(t1, t0) / STEPS, "us/run")

# one beam's fine-loop step in feed-forward (disturbance observer + canceller), wheels turning
loop = app.beams[0]
canc = app.cancellers[0]
wheels = app.wheels
tach = hal_.tachometers
tach[0].freq_mhz = 17500
tach[1].freq_mhz = 22000
tach[2].freq_mhz = 27500
loop.enabled = True
loop.mode = 2


def beam_step():
    for w in tach:
        w.phase_q16 = (w.phase_q16 + w.freq_mhz * 65 // 1000) & 0xFFFF
    wheels.step()
    s0.publish(1200, -800)
    loop.step()


g = garbage(beam_step, 2000)
bench("garbage_per_beam_step_bytes", g / 2000, "B/step")
gc.collect()
i = 0
t0 = time.ticks_us()
while i < STEPS:
    beam_step()
    i += 1
t1 = time.ticks_us()
bench("fine_beam_step_us", time.ticks_diff(t1, t0) / STEPS, "us/step")
canc._dirty = True
canc._dirty_round = True
gc.collect()
i = 0
t0 = time.ticks_us()
while i < 60:
    canc._dirty_round = True
    canc.refresh()
    i += 1
t1 = time.ticks_us()
bench("canceller_refresh_us", time.ticks_diff(t1, t0) / 60, "us/call")
