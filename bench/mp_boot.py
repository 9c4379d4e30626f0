# Runs inside MicroPython (tests/mp/mp_run.mjs --script).  Prints "@@BENCH name value unit".
import gc
import sys
import time

gc.collect()
base = gc.mem_alloc()

import bus.compat  # noqa: E402,F401
import hal.interface  # noqa: E402,F401
import hal.fake  # noqa: E402
import payload.scheduler  # noqa: E402,F401
import payload.fine_loop  # noqa: E402,F401
import payload.thermal_loop  # noqa: E402,F401
import payload.app  # noqa: E402
import payload.boot  # noqa: E402,F401

gc.collect()
after_import = gc.mem_alloc()
hal_ = hal.fake.FakeHal(nvstore_size=4096)
app = payload.app.PayloadApp(hal_)
app.start()
gc.collect()
after_init = gc.mem_alloc()


def bench(name, value, unit):
    print("@@BENCH %s %s %s" % (name, value, unit))


bench("mp_version", "%d.%d.%d" % sys.implementation.version[:3], "")
bench("ram_modules_bytes", after_import - base, "B")
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


one()
gc.collect()
gc.disable()
i = 0
a = gc.mem_alloc()
while i < STEPS:
    one()
    i += 1
b = gc.mem_alloc()
gc.enable()
bench("garbage_per_fine_step_bytes", (b - a) / STEPS, "B/step")

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
