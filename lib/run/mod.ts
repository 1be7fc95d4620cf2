/** lib/run: see shared/DESIGN.md. @module */
