/** lib/report: see shared/DESIGN.md. @module */
