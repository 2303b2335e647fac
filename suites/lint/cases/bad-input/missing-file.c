/* This file is fine; the other one named does not exist: exit 2. */
int fine;
