import hot_restart

computed = []


def squares(n):
    for i in range(n):
        computed.append(i)
        if i == 3:
            raise ArithmeticError("not ready for 3")
        yield i * i


hot_restart.wrap_module()
print("squares", list(squares(5)))
print("computed", computed)
