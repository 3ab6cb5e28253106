"""python -m demo: greet a few people."""

from demo import Greeter, countdown, shout

for line in Greeter(["Ada", "Grace"]).greet_all():
    print(line)
print(shout("world"))
print("countdown:", list(countdown(3)))
