// Package archtest enforces the direction of imports between zloop's packages (ARCHITECTURE.md,
// "Layers and the direction of imports"). Its test holds the rule as one table: for every package
// of the module, the project packages and other modules it may import, and whether it must stay
// free of net and gnet in all its dependencies. In short: codec uses the standard library only,
// zmtp and pool never reach the network or gnet, only reactor imports gnet, and sockets reaches the
// network through reactor alone. The package has no code of its own.
package archtest
