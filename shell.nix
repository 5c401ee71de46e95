# A development shell: `nix-shell`, then the README's two commands.
{ pkgs ? import <nixpkgs> {} }:
pkgs.mkShell {
  packages = [
    (pkgs.python3.withPackages (ps: [ ps.pytest ps.pexpect ps.flit ps.pip ]))
    pkgs.ruff
  ];
}
