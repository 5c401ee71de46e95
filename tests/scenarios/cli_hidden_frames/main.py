



def work(n):
    return 10 / n


print(work(0))
