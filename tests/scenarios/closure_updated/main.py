import hot_restart


def make_greeter(greeting):
    def greet(name):
        return f"{greeting}, {name}" + 1
    return greet


hot_restart.wrap_module()
hello = make_greeter("hello")       # a closure made before the edit
print(hello("ada"))
print(hello("grace"))               # the held closure runs the new code
print(make_greeter("hi")("bob"))    # and so do new ones
print("tracked", hello.__code__ is make_greeter("x").__code__)
