# A job that runs with no terminal (as under a service manager or nohup).
def handle(job):
    return 100 / job


total = 0
for job in [5, 2, 0, 4]:
    total += handle(job)
    print("handled", job, "total", total, flush=True)
print("finished", total, flush=True)
