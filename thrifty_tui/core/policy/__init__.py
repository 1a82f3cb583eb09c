"""The scheduler, pure: ``decide.next_decisions`` turns a frozen ``snapshot.Snapshot`` of a
screening run into the next decisions, from the rules of ``schedule`` (fold order, drops,
skips, kills), ``budget`` (done rules, fit admission), ``final`` (the final fit of a model cut
short), ``sizing`` (a sample the budget can afford), ``racing`` (the cost model) and ``stats``
(the tests behind drops and ties). ``replay`` drives it from ``recording``'s recorded fits with
a simulated clock."""
