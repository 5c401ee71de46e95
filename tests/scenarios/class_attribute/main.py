import hot_restart


class Client:
    RETRIES = 1

    def fetch(self, failures):
        for attempt in range(self.RETRIES):
            if attempt >= failures:
                return f"ok after {attempt + 1} attempts"
        raise ConnectionError(f"gave up after {self.RETRIES} attempts")


hot_restart.wrap_module()
print(Client().fetch(2))
if __name__ == "__main__":
    print("main block ran")
